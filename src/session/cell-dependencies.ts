/**
 * `%%slurm --after 12,4519`: what a cell's job waits for. A number that is a cell of this notebook
 * (its execution count) means that cell's job; anything else is a job id, given to Slurm as is.
 * A cell that already completed is nothing to wait for; one that failed would keep this one
 * waiting for ever, so the cell is refused before anything is submitted.
 */
import type { CellRecord } from "../cells/cell-book";
import type { CellDependency } from "../cells/cell-types";
import { MagicError } from "../magics/types";
import type { CellHost } from "./cell-host";

export interface Dependencies {
  after: CellDependency[];
  /** sbatch's `--dependency` value, when there is anything to wait for. */
  dependency?: string;
  /** Said under the cell (a cell that had already completed). */
  notes: string[];
}

/** The cell of this notebook with that execution count: this kernel's own first, else the latest. */
function cellNumbered(host: CellHost, count: number): CellRecord | undefined {
  const recs = host.env.cells.forNotebook(host.notebookKey).filter((r) => r.executionCount === count);
  return recs.filter((r) => r.sessionId === host.id).at(-1) ?? recs.at(-1);
}

function dependencyOn(host: CellHost, value: string, notes: string[]): CellDependency | undefined {
  const count = /^\d+$/.test(value) ? Number(value) : undefined;
  const rec = count === undefined ? undefined : cellNumbered(host, count);
  if (!rec) {
    const byJob = host.env.cells.byJob(value);
    if (count !== undefined && count > 0 && count <= host.executionCount && !byJob)
      throw new MagicError(
        `--after ${value}: cell ${value} of this notebook ran no job, so there is nothing to wait for`,
      );
    return { jobId: value, label: byJob ? `cell ${byJob.executionCount} (job ${value})` : `job ${value}` };
  }
  const label = `cell ${rec.executionCount} (job ${rec.jobId})`;
  if (!rec.ended) return { jobId: rec.jobId, label };
  if (rec.state === "COMPLETED") {
    notes.push(`${label} has already completed: nothing to wait for`);
    return undefined;
  }
  throw new MagicError(
    `--after ${value}: ${label} ended ${rec.state}, so this cell would never start; run cell ${rec.executionCount} again first (nothing was submitted)`,
  );
}

/** Resolves `--after` values into the jobs to wait for and sbatch's `--dependency=afterok:…`. */
export function resolveAfter(host: CellHost, values: readonly string[]): Dependencies {
  const notes: string[] = [];
  const after: CellDependency[] = [];
  for (const v of values) {
    const dep = dependencyOn(host, v, notes);
    if (dep && !after.some((d) => d.jobId === dep.jobId)) after.push(dep);
  }
  const out: Dependencies = { after, notes };
  if (after.length) out.dependency = `afterok:${after.map((d) => d.jobId).join(":")}`;
  return out;
}
