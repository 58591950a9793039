/**
 * What the jobs panel and the queue page may do to a held allocation's row: release it (its
 * namespace saved first, as `%slurm release` does). It has no output of its own to show: the
 * cells that ran in it have their rows.
 */
import { allocationIdOf } from "../cells/allocation-view";
import { InputError } from "../errors";
import type { SessionEnvironment } from "./environment";

export { allocationIdOf };

export interface AllocationAnswer {
  id: string;
  jobId: string;
  message: string;
}

/** Releases the allocation a feed id names; undefined when this server has no such allocation. */
export async function releaseFromFeed(
  env: SessionEnvironment,
  viewId: string,
): Promise<AllocationAnswer | undefined> {
  const id = allocationIdOf(viewId);
  const rec = id === undefined ? undefined : env.allocations?.record(id);
  if (!rec || id === undefined) return undefined;
  if (rec.ended)
    return {
      id: viewId,
      jobId: rec.jobId,
      message: `allocation ${rec.jobId} had already ended (${rec.endWhy ?? "ended"})`,
    };
  const done = await env.allocations!.releaseById(id);
  const how =
    done === undefined
      ? ""
      : done.end.why !== "released"
        ? ` (${done.end.why})`
        : done.savedNames !== undefined
          ? "; its namespace was saved for the cells after it"
          : rec.phase === "queued"
            ? " (it was still queued: nothing to save)"
            : "; its namespace could not be saved: the cells after it start from the last save";
  return { id: viewId, jobId: rec.jobId, message: `released allocation ${rec.jobId}${how}` };
}

/** An allocation's row has no output tail: say where the output is. */
export function allocationTailError(viewId: string): InputError {
  return new InputError(
    "BAD_JOB_ID",
    `${viewId} is a held allocation: it has no output of its own; the cells that ran in it have their rows, with theirs`,
  );
}
