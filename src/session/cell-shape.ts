/**
 * The shape of a cell's job beyond its resources: Python once, an array (`--array`), every srun
 * task (`%%srun`) or a bash script (`%%bash`); what it waits for (`--after`); what it gathers
 * first (`%slurm gather`); or a rerun of an array's tasks (`%slurm rerun`). Checked here, so a
 * combination that cannot work is refused before anything is submitted.
 */
import type { CellDependency } from "../cells/cell-types";
import type { ArrayRequest, CellRunMode, GatherRequest } from "../jobs/backend";
import type { CellPlan, LineMagic, ParsedOptions, SbatchPair } from "../magics/types";
import { MagicError } from "../magics/types";
import { GATHER_USAGE, planGather, planRerun, RERUN_USAGE } from "./array-magics";
import type { CellHost } from "./cell-host";
import { resolveAfter } from "./cell-dependencies";
import type { EffectiveOptions } from "./cell-options";

export interface CellJobShape {
  /** The code the job runs (a rerun's is its first run's). */
  code: string;
  options: EffectiveOptions;
  mode?: CellRunMode;
  array?: ArrayRequest;
  gather?: GatherRequest;
  after?: CellDependency[];
  /** Said to the user before the job is submitted. */
  notes: string[];
}

/** `%slurm gather …` and `%slurm rerun …` shape the cell's job: taken out of the line magics the kernel runs. */
export function takeJobMagics(magics: readonly LineMagic[]): {
  gather?: LineMagic;
  rerun?: LineMagic;
  others: LineMagic[];
} {
  const isJob = (m: LineMagic, what: string) => m.name === "slurm" && m.args[0] === what;
  const gathers = magics.filter((m) => isJob(m, "gather"));
  const reruns = magics.filter((m) => isJob(m, "rerun"));
  if (gathers.length > 1) throw new MagicError(`one %slurm gather per cell (${GATHER_USAGE})`);
  if (reruns.length > 1) throw new MagicError(`one %slurm rerun per cell (${RERUN_USAGE})`);
  if (gathers.length && reruns.length)
    throw new MagicError("%slurm gather and %slurm rerun go in cells of their own");
  return {
    gather: gathers[0],
    rerun: reruns[0],
    others: magics.filter((m) => !isJob(m, "gather") && !isJob(m, "rerun")),
  };
}

const valueOf = (pairs: readonly SbatchPair[], long: string) => pairs.find(([k]) => k === long)?.[1];

/** What a raw `--dependency=afterok:4519:4520` waits for, as the user knows the jobs. */
function dependencyLabels(host: CellHost, value: string): CellDependency[] {
  const ids = [...value.matchAll(/:(\d+(?:_\d+)?)/g)].map((m) => m[1]!);
  return ids.map((jobId) => {
    const rec = host.env.cells.byJob(jobId.replace(/_\d+$/, ""));
    return { jobId, label: rec ? `cell ${rec.executionCount} (job ${jobId})` : `job ${jobId}` };
  });
}

function refuseOnLocal(host: CellHost, plan: CellPlan, sbatch: readonly SbatchPair[], after: boolean): void {
  if (host.env.config.backend === "slurm") return;
  const what = valueOf(sbatch, "--array")
    ? "--array"
    : plan.mode === "srun"
      ? "%%srun"
      : after || valueOf(sbatch, "--dependency")
        ? "--after/--dependency"
        : undefined;
  if (what)
    throw new MagicError(
      `${what} needs Slurm: on the local backend cells run one at a time on this machine (set backend: slurm in the configuration)`,
    );
}

/** Everything that makes this cell's job, from its parsed plan and the gather magic, if any. */
export async function shapeJob(
  host: CellHost,
  plan: CellPlan,
  options: EffectiveOptions,
  gather: LineMagic | undefined,
): Promise<CellJobShape> {
  const notes: string[] = [];
  const cell: ParsedOptions | undefined = plan.cellOptions;
  refuseOnLocal(host, plan, options.sbatch, Boolean(cell?.after));
  const shape: CellJobShape = { code: plan.body, options, notes };
  if (plan.mode) shape.mode = plan.mode;
  if (cell?.ignored?.length)
    notes.push(
      `alpine-kernel: #SBATCH ${[...new Set(cell.ignored)].join(", ")} left out: the cell's output streams here (%slurm output JOBID shows it again)\n`,
    );

  const spec = valueOf(options.sbatch, "--array");
  let sbatch = options.sbatch;
  if (spec !== undefined) {
    if (plan.mode === "srun")
      throw new MagicError("an array cell cannot also be an %%srun cell: use one or the other");
    shape.array = { spec };
    sbatch = sbatch.filter(([k]) => k !== "--array");
  }

  if (gather) {
    if (options.detach)
      throw new MagicError(
        "%slurm gather puts the values in the notebook's namespace: not in a --detach cell",
      );
    if (spec !== undefined || plan.mode)
      throw new MagicError("%slurm gather goes in a plain Python cell (not an array, %%srun or %%bash cell)");
    shape.gather = planGather(host, gather.args.slice(1));
  }

  if (cell?.after) {
    const deps = resolveAfter(host, cell.after);
    for (const n of deps.notes) notes.push(`alpine-kernel: ${n}\n`);
    if (deps.dependency) {
      sbatch = [...sbatch, ["--dependency", deps.dependency]];
      shape.after = deps.after;
    }
  } else {
    const raw = valueOf(sbatch, "--dependency");
    if (raw) shape.after = dependencyLabels(host, raw);
  }
  shape.options = { ...options, sbatch };
  return shape;
}

/** `%slurm rerun`: the cell's job is the array's failed tasks again; the cell holds nothing else. */
export async function shapeRerun(host: CellHost, plan: CellPlan, rerun: LineMagic): Promise<CellJobShape> {
  if (plan.body.trim())
    throw new MagicError(
      "%slurm rerun runs the array's own code again: put it in a cell of its own (a %%slurm line above it may change the options)",
    );
  if (plan.mode)
    throw new MagicError(`%slurm rerun takes the array's own kind of cell: no %%${plan.mode} line`);
  if (plan.cellOptions?.sbatch.some(([k]) => k === "--array"))
    throw new MagicError("%slurm rerun picks its tasks itself (--failed, or --tasks LIST): no --array");
  refuseOnLocal(host, plan, [["--array", "rerun"]], false);
  const r = await planRerun(host, rerun.args.slice(1), plan.cellOptions);
  const shape: CellJobShape = { code: r.code, options: r.options, array: r.array, notes: [r.note] };
  if (r.mode) shape.mode = r.mode;
  return shape;
}
