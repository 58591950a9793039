/**
 * An array task's end state from accounting. `sacct -j 4521_7` knows a task that ran; a task
 * cancelled while it was still pending has no record of its own — sacct lists it under the
 * array's pending range (`4521_[7-99%10] CANCELLED`), or under the array's own id — so the array's records are asked for
 * (one sacct shared by every task asked about at the same time), and the task is found in them.
 */
import type { FinalJobStatus, JobState } from "../scheduler";
import { parseArrayRowId } from "./array-spec";

const ACTIVE: ReadonlySet<JobState> = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
]);
/** Accounting records an end a moment after it: ask again this long after each try. */
const RETRIES_MS = [500, 1000, 2000, 4000, 8000, 15_000];

/** `accounting` answers for job ids (here, the array's own id: every record of it). */
export type Accounting = (jobIds: readonly string[]) => Promise<Map<string, FinalJobStatus>>;

function recordOf(
  records: Map<string, FinalJobStatus>,
  arrayId: string,
  task: number,
): FinalJobStatus | undefined {
  const own = records.get(`${arrayId}_${task}`);
  if (own) return own;
  for (const [id, f] of records) {
    const row = parseArrayRowId(id);
    if (row?.arrayId === arrayId && row.tasks?.includes(task)) return f;
  }
  // Slurm 22.05 may list the pending remainder under the array's own id once it was cancelled
  // (`4521 CANCELLED by 1001`, no range): it stands for every task without a record of its own.
  return records.get(arrayId);
}

/**
 * One accounting answer shared by every task of an array that asks within `freshMs` of it: when a
 * thousand tasks leave the queue together (cancelled, all out of memory), they cost a sacct every
 * `freshMs`, not one per task. A failed answer is not kept.
 */
export function sharedAccounting(
  accounting: Accounting,
  freshMs: number,
  now: () => number = Date.now,
): Accounting {
  let last: { at: number; answer: Promise<Map<string, FinalJobStatus>> } | undefined;
  return (jobIds) => {
    if (!last || now() - last.at >= freshMs) {
      const answer = accounting(jobIds);
      const mine = { at: now(), answer };
      last = mine;
      answer.catch(() => {
        if (last === mine) last = undefined;
      });
    }
    return last.answer;
  };
}

export async function taskFinal(
  accounting: Accounting,
  arrayId: string,
  task: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<FinalJobStatus> {
  const jobId = `${arrayId}_${task}`;
  let last: FinalJobStatus | undefined;
  for (let attempt = 0; ; attempt++) {
    last = recordOf(await accounting([arrayId]), arrayId, task);
    if (last && !ACTIVE.has(last.state)) return { ...last, jobId };
    if (attempt >= RETRIES_MS.length) break;
    await sleep(RETRIES_MS[attempt]!);
  }
  return { jobId, state: last?.state ?? "UNKNOWN", exitCode: 0, signal: 0, unknown: true };
}
