/**
 * The status line's words for an array cell's tasks ("array 4521: 37 done · 10 running · 53
 * pending · 0 failed · failed: 7, 13") and an srun cell's other ranks, and for a cell waiting on
 * another ("waiting for cell 12 (job 4519)").
 */
import type { PartEnd, PartsSummary } from "../jobs/backend";
import { describeTasks } from "../jobs/array/array-spec";

/** How many failed tasks a line names with their end state before it says "and N more". */
const NAMED_FAILURES = 8;

/** A failed task's end state in Slurm's words (FAILED when its code raised). */
export function partState(p: PartEnd): string {
  return p.outcome.kind === "died" ? p.outcome.final.state : "FAILED";
}

/** "37 done · 10 running · 53 pending · 0 failed", with the failed ones named while it runs. */
export function partsCounts(s: PartsSummary, live: boolean): string {
  const counts = [`${s.done} done`];
  if (live || s.running) counts.push(`${s.running} running`);
  if (live || s.pending) counts.push(`${s.pending} pending`);
  counts.push(`${s.failed.length} failed`);
  let text = counts.join(" · ");
  if (s.failed.length && live) text += ` (${describeTasks(s.failed.map((f) => f.index))})`;
  return text;
}

/** "(7 TIMEOUT, 13 FAILED)" for the end of an array. */
export function failedStates(s: PartsSummary): string {
  if (!s.failed.length) return "";
  const named = s.failed.slice(0, NAMED_FAILURES).map((f) => `${f.index} ${partState(f)}`);
  const more = s.failed.length - named.length;
  return ` (${named.join(", ")}${more > 0 ? ` and ${more} more` : ""})`;
}

/** An srun cell whose rank 0 has ended while others still run: what is left. */
export function ranksLine(s: PartsSummary): string {
  return ` · rank 0 done, other ranks: ${partsCounts({ ...s, done: s.done - 1 < 0 ? 0 : s.done - 1 }, true)}`;
}

/** "waiting for cell 12 (job 4519)", or that what it waited for failed. */
export function dependencyReason(
  reason: string | undefined,
  after: readonly string[] | undefined,
): string | undefined {
  if (!after?.length) return undefined;
  if (reason === "Dependency") return `waiting for ${after.join(" and ")}`;
  if (reason === "DependencyNeverSatisfied") return `${after.join(" or ")} failed: it can never start`;
  return undefined;
}
