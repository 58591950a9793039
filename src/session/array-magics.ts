/**
 * What the kernel does with an array cell once it has run: `%slurm gather ARRAY NAME` (a value
 * from every task's namespace, collected in this cell's job), `%slurm rerun ARRAY --failed` (the
 * failed tasks submitted again, as a new array cell with the first run's code, options and
 * starting namespace) and `%slurm output ARRAY_TASK` / `ARRAY` / `JOBID --rank N`.
 *
 * Reruns form a line: each names the first array (`rerunOf`); a task's latest run is the one that
 * counts — for gather and for the next rerun.
 */
import type { CellRecord } from "../cells/cell-book";
import { jobOf } from "../cells/cell-book";
import type { ArrayRequest, CellRunMode, GatherRequest } from "../jobs/backend";
import { describeTasks, formatTaskList, parseArraySpec } from "../jobs/array/array-spec";
import type { JobState } from "../jobs/scheduler";
import { MagicError, type ParsedOptions, type SbatchPair } from "../magics/types";
import type { CellHost } from "./cell-host";
import type { EffectiveOptions } from "./cell-options";

/** Where one task's latest run is. */
interface TaskRun {
  rec: CellRecord;
  state: JobState;
}

export const GATHER_USAGE = "usage: %slurm gather ARRAY NAME [--into VARIABLE]";
export const RERUN_USAGE = "usage: %slurm rerun ARRAY --failed (or --tasks LIST, e.g. --tasks 3,7-9)";

/** This notebook's array cell with that job id (a rerun's id names its own run). */
export function arrayRecord(host: CellHost, arrayId: string): CellRecord {
  if (!/^\d+$/.test(arrayId)) throw new MagicError(`'${arrayId}' is not an array's job id (e.g. 4521)`);
  const rec = host.env.cells.byJob(arrayId);
  const mine = rec && rec.notebookKey === host.notebookKey ? rec : undefined;
  if (!mine?.array) {
    const arrays = host.env.cells
      .forNotebook(host.notebookKey)
      .filter((r) => r.array)
      .map((r) => r.jobId);
    throw new MagicError(
      `job ${arrayId} is not an array cell of this notebook${arrays.length ? ` (its arrays: ${arrays.slice(-10).join(", ")})` : ""}`,
    );
  }
  return mine;
}

/** The first array of a rerun line and every run of it, in order of submission. */
function lineage(host: CellHost, rec: CellRecord): CellRecord[] {
  const root = rec.array?.rerunOf ?? rec.jobId;
  return host.env.cells
    .forNotebook(host.notebookKey)
    .filter((r) => r.array && (r.jobId === root || r.array.rerunOf === root));
}

/** Each task of the first array → its latest run and how that ended (RUNNING while in flight). */
function latestRuns(runs: readonly CellRecord[]): Map<number, TaskRun> {
  const out = new Map<number, TaskRun>();
  for (const rec of runs) {
    const failed = new Map((rec.parts?.failed ?? []).map((f) => [f.index, f.state]));
    for (const t of parseArraySpec(rec.array!.spec).tasks) {
      const state: JobState = !rec.ended
        ? "RUNNING"
        : (failed.get(t) ?? (rec.parts ? "COMPLETED" : rec.state));
      out.set(t, { rec, state });
    }
  }
  return out;
}

/** `%slurm gather ARRAY NAME [--into VAR]` → what the cell's job collects before its code runs. */
export function planGather(host: CellHost, args: readonly string[]): GatherRequest {
  const [arrayId, name, flag, into, ...rest] = args;
  if (!arrayId || !name || rest.length || (flag !== undefined && (flag !== "--into" || !into)))
    throw new MagicError(GATHER_USAGE);
  for (const n of [name, into].filter((x): x is string => x !== undefined))
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))
      throw new MagicError(`'${n}' is not a Python name (${GATHER_USAGE})`);
  const rec = arrayRecord(host, arrayId);
  const runs = latestRuns(lineage(host, rec));
  const root = rec.array!.rerunOf ?? rec.jobId;
  return {
    array: root,
    name,
    into: into ?? name,
    tasks: [...runs].map(([task, run]) => ({
      task,
      namespace: host.env.files.taskNamespace(jobOf(run.rec), task),
      state: run.state,
    })),
  };
}

export interface RerunPlan {
  code: string;
  mode?: CellRunMode;
  array: ArrayRequest;
  options: EffectiveOptions;
  /** Said before it is submitted. */
  note: string;
}

function tasksToRerun(args: readonly string[], runs: Map<number, TaskRun>, arrayId: string): number[] {
  const [, how, list, ...rest] = args;
  if (
    rest.length ||
    (how === "--tasks" && !list) ||
    (how !== "--failed" && how !== "--tasks") ||
    (how === "--failed" && list)
  )
    throw new MagicError(RERUN_USAGE);
  if (how === "--failed") {
    const failed = [...runs].filter(([, r]) => r.state !== "COMPLETED").map(([t]) => t);
    if (!failed.length) throw new MagicError(`no task of array ${arrayId} failed: nothing to rerun`);
    return failed;
  }
  let asked: number[];
  try {
    asked = parseArraySpec(list!).tasks;
  } catch (err) {
    throw new MagicError(`--tasks ${list}: ${(err as Error).message}`);
  }
  const unknown = asked.filter((t) => !runs.has(t));
  if (unknown.length)
    throw new MagicError(
      `array ${arrayId} has no task ${describeTasks(unknown)} (its tasks: ${describeTasks([...runs.keys()])})`,
    );
  return asked;
}

/**
 * `%slurm rerun ARRAY --failed`: the tasks to run again, with the first run's code and namespace,
 * its options under this cell's own (`%%slurm -t 2:00:00` above the magic raises the time limit).
 */
export async function planRerun(
  host: CellHost,
  args: readonly string[],
  cellOptions: ParsedOptions | undefined,
): Promise<RerunPlan> {
  const rec = arrayRecord(host, args[0] ?? "");
  const line = lineage(host, rec);
  const busy = line.find((r) => !r.ended);
  if (busy)
    throw new MagicError(
      `array ${busy.jobId} is still running: rerun its tasks once it has ended (%scancel ${busy.jobId} stops it)`,
    );
  const root = line[0]!;
  const tasks = tasksToRerun(args, latestRuns(line), root.jobId);
  const code = await host.env.files.cellCode(jobOf(root));
  if (code === null)
    throw new MagicError(
      `the code of array ${root.jobId} is no longer on the cluster (${root.sessionDir}): run its cell again`,
    );
  const sbatch: SbatchPair[] = root.array!.sbatch.filter(([k]) => k !== "--array");
  const options = await host.options.effectiveFrom(sbatch, cellOptions);
  const throttle = parseArraySpec(root.array!.spec).throttle;
  const array: ArrayRequest = {
    spec: formatTaskList(tasks) + (throttle ? `%${throttle}` : ""),
    rerunOf: root.jobId,
    namespaceFrom: host.env.files.snapshotOf(jobOf(root)),
  };
  const plan: RerunPlan = {
    code,
    array,
    options,
    note: `alpine-kernel: rerunning task${tasks.length > 1 ? "s" : ""} ${describeTasks(tasks)} of array ${root.jobId} (cell ${root.executionCount}), from the namespace it started from\n`,
  };
  if (root.mode) plan.mode = root.mode;
  return plan;
}
