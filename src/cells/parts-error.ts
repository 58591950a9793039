/**
 * How an array cell (or srun cell) ended when tasks failed, and the error it ends with: one line
 * per failed task, told as a single cell's failure would be, and what to do next.
 */
import type { PartEnd, PartsSummary } from "../jobs/backend";
import type { JobFailure } from "../jobs/diagnose";
import type { RunnerError } from "../jobs/runner-events";
import type { FinalJobStatus } from "../jobs/scheduler";
import { describeTasks } from "../jobs/array/array-spec";
import type { ErrorContent } from "../protocol/messages";
import type { CellOutcome, PartFailure } from "./cell-types";

export const UNKNOWN_ERROR: RunnerError = {
  ename: "UnknownError",
  evalue: "the cell failed without saying why",
  traceback: [],
};

type DeathOf = (final: FinalJobStatus, started: boolean, stderrTail: string) => JobFailure;

/**
 * Every task ended: completed when none failed, else each failure told as a single cell's would
 * be. `rank0Error`: the exception the cell itself saw (an srun cell's rank 0 streams as the cell).
 */
export function partsOutcome(
  summary: PartsSummary,
  rank0Error: RunnerError | undefined,
  interrupted: boolean,
  deathOf: DeathOf,
): CellOutcome {
  const failures = summary.failed.map((p) => partFailure(p, summary.unit, rank0Error, deathOf));
  if (!failures.length) return { kind: "completed" };
  return { kind: "parts", summary, failures, interrupted };
}

function partFailure(
  p: PartEnd,
  unit: "task" | "rank",
  rank0Error: RunnerError | undefined,
  deathOf: DeathOf,
): PartFailure {
  const o = p.outcome;
  if (o.kind === "ended") {
    // Rank 0's exception reached the cell as its own; the others' were read from their files.
    const e = p.error ?? (unit === "rank" && p.index === 0 ? rank0Error : undefined) ?? UNKNOWN_ERROR;
    return {
      index: p.index,
      jobId: p.jobId,
      state: "FAILED",
      failure: { name: e.ename, message: e.evalue, details: [] },
    };
  }
  return {
    index: p.index,
    jobId: p.jobId,
    state: o.final.state,
    failure: deathOf(o.final, o.started, o.stderrTail),
  };
}

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
