/**
 * A held allocation (`%slurm allocate`) as every view of the queue shows it: a row of its own
 * beside its notebook's cells, with the time it has left. The holder job costs service units
 * whether or not a cell runs in it, so a user must see it — and be able to release it — without
 * opening the notebook. Pure.
 */
import type { JobStatus } from "../jobs/scheduler";
import type { AllocationRecord } from "../jobs/allocation/allocations";
import { pendingReasonText } from "../jobs/slurm/pending-reasons";
import { parseSlurmDuration } from "../jobs/slurm/slurm-time";
import type { JobView } from "../protocol/jobs-feed";
import { allocationText } from "./job-view";

/** Feed ids of allocations: `allocation/<session id>/<n>` (cells' are `<session id>/<seq>`). */
export const ALLOCATION_VIEW_PREFIX = "allocation/";

export const allocationViewId = (recordId: string): string => `${ALLOCATION_VIEW_PREFIX}${recordId}`;

/** The allocation record id a feed id names, or undefined when it names a cell. */
export function allocationIdOf(viewId: string): string | undefined {
  return viewId.startsWith(ALLOCATION_VIEW_PREFIX) ? viewId.slice(ALLOCATION_VIEW_PREFIX.length) : undefined;
}

/** "%slurm allocate -p aa100 --gres gpu:1 --time 2:00:00": what made it, as the user would write it. */
function allocateLine(rec: AllocationRecord): string {
  const options = rec.sbatch
    .filter(([k]) => k !== "--account")
    .map(([k, v]) => (v === undefined || v === "" ? k : `${k} ${v}`));
  return ["%slurm allocate", ...options].join(" ");
}

function seconds(text: string | undefined): number | undefined {
  try {
    return text ? (parseSlurmDuration(text) ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The view of one allocation. `status` is squeue's last word while it is followed (the pending
 * reason and estimated start are not kept in the record); `warnAheadSeconds` when its time left
 * turns into a warning; `notebookPath` what the notebook's frontend said its path is.
 */
export function allocationView(
  rec: AllocationRecord,
  warnAheadSeconds: number,
  status?: JobStatus,
  notebookPath?: string,
): JobView {
  const ended = rec.phase === "ended";
  const queued = rec.phase === "queued";
  const endsAt = rec.endsAt ? Date.parse(rec.endsAt) : undefined;
  const limit = seconds(status?.timeLimit ?? rec.timeLimit);
  const startedAt = endsAt !== undefined && limit !== undefined ? endsAt - limit * 1000 : undefined;
  const endedAt = rec.ended ? Date.parse(rec.ended) : undefined;
  const reason = queued ? (status?.reason ?? "None") : undefined;
  const released = rec.endWhy === "released";
  return {
    id: allocationViewId(rec.id),
    jobId: rec.jobId,
    notebook: rec.notebookKey.split("/").pop() || rec.notebookKey,
    notebookPath,
    notebookKey: rec.notebookKey,
    kernelId: rec.sessionId,
    run: 1,
    executionCount: 0,
    seq: rec.n,
    firstLine: allocateLine(rec),
    detached: false,
    phase: ended ? "ended" : queued ? "queued" : "running",
    state: ended ? (rec.endState ?? "ENDED") : queued ? "PENDING" : "RUNNING",
    reason,
    reasonText: reason === undefined ? undefined : pendingReasonText(reason),
    partition: status?.partition ?? rec.partition,
    resources: allocationText(rec),
    timeLimitSeconds: limit,
    submittedAt: Date.parse(rec.submitted),
    queuedAt: queued ? Date.parse(rec.submitted) : undefined,
    startedAt,
    endedAt,
    estimatedStart: queued ? status?.startTime : undefined,
    node: rec.node,
    billing: status?.billing,
    end: ended
      ? {
          outcome: released ? "completed" : "died",
          message: rec.endWhy,
          seconds:
            startedAt !== undefined && endedAt !== undefined
              ? Math.max(0, (endedAt - startedAt) / 1000)
              : undefined,
        }
      : undefined,
    kind: "allocation",
    endsAt: ended ? undefined : endsAt,
    warnAt: ended || endsAt === undefined ? undefined : endsAt - warnAheadSeconds * 1000,
  };
}
