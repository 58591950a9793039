/**
 * The error an array cell (or srun cell) ends with when tasks failed: one line per failed task,
 * told as a single cell's failure would be, and what to do next.
 */
import type { CellOutcome } from "../cells/cell-types";
import { describeTasks } from "../jobs/array/array-spec";
import type { ErrorContent } from "../protocol/messages";

/** Failed tasks told one by one before "and N more". */
const LISTED = 20;

type PartsOutcome = Extract<CellOutcome, { kind: "parts" }>;

export function partsError(o: PartsOutcome): { ename: string; evalue: string; details: string[] } {
  const { summary, failures } = o;
  const array = summary.unit === "task";
  const ids = failures.map((f) => f.index);
  const what = array ? `task${ids.length > 1 ? "s" : ""}` : `rank${ids.length > 1 ? "s" : ""}`;
  const whole = array ? `array ${summary.jobId}` : `job ${summary.jobId}`;
  const next = array
    ? `%slurm output ${summary.jobId}_${ids[0]} shows a task's output; %slurm rerun ${summary.jobId} --failed runs the failed ones again`
    : `%slurm output ${summary.jobId} --rank ${ids.find((i) => i > 0) ?? ids[0]} shows a rank's output`;
  const details = failures.slice(0, LISTED).map((f) => {
    const label = array ? `task ${f.jobId}` : `rank ${f.index}`;
    return `${label} (${f.state}) — ${f.failure.name}: ${f.failure.message}`;
  });
  if (failures.length > LISTED) details.push(`… and ${failures.length - LISTED} more`);
  if (o.interrupted)
    return {
      ename: "KeyboardInterrupt",
      evalue: `${whole} was interrupted: ${summary.done} of ${summary.total} ${array ? "tasks" : "ranks"} had completed; ${what} ${describeTasks(ids)} did not (${next})`,
      details,
    };
  return {
    ename: array ? "ArrayTasksFailed" : "RanksFailed",
    evalue: `${failures.length} of ${summary.total} ${array ? "tasks" : "ranks"} of ${whole} failed: ${what} ${describeTasks(ids)} (${next})`,
    details,
  };
}

export function partsErrorContent(
  o: PartsOutcome,
  content: (n: string, v: string, d: string[]) => ErrorContent,
): ErrorContent {
  const e = partsError(o);
  return content(e.ename, e.evalue, e.details);
}
