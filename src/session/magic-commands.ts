/**
 * The kernel's line magics: %slurm (defaults, help, output), %squeue, %scancel, %sacct. They run in
 * the kernel, never as jobs, and speak only of this notebook's cell jobs.
 */
import type { Transport } from "../cluster/transport";
import { findMagic, MAGICS } from "../magics/registry";
import { parseSlurmOptions } from "../magics/sbatch-args";
import { MagicError, type LineMagic } from "../magics/types";
import { SACCT_ARGS, parseSacct } from "../jobs/slurm/parse-sacct";
import type { FinalJobStatus, JobStatus, Scheduler } from "../jobs/scheduler";
import type { CellOptions } from "./cell-options";
import type { JobBook, JobRecord } from "./job-book";
import { renderTable, type Table } from "./table";
import { parseSlurmDuration } from "../jobs/slurm/slurm-time";
import { shortDuration } from "./status-display";

export interface MagicContext {
  display(data: Record<string, string>): void;
  stream(text: string): void;
  options: CellOptions;
  jobs: JobBook;
  notebookKey: string;
  scheduler: Scheduler;
  transport: Transport;
  /** Live status of a job still in the queue, from the watcher. */
  liveStatus(jobId: string): JobStatus | undefined;
  /** Shows a finished job's output (for `%slurm output JOBID`). */
  replayOutput(job: JobRecord): Promise<void>;
  /** Persists the notebook defaults after %slurm changed them. */
  saveDefaults(): void;
  backend: "local" | "slurm";
}

/** Slurm durations as the status lines show them ("0:06", "1:00:00"); "UNLIMITED" stays. */
function clock(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const s = parseSlurmDuration(v);
  return s === null ? v : shortDuration(s);
}

const dash = (v: string | undefined) => (v && v !== "N/A" && v !== "None" ? v : "—");

function describePairs(pairs: readonly (readonly [string, string?])[]): string {
  return pairs.map(([k, v]) => (v === undefined ? k : `${k} ${v}`)).join(" ") || "(none: Slurm's defaults)";
}

export async function runLineMagic(m: LineMagic, ctx: MagicContext): Promise<void> {
  if (m.args[0] === "?" || m.args[0] === "--help" || m.args[0] === "-h") {
    const doc = findMagic(m.name === "slurm" ? "%slurm" : `%${m.name}`) ?? MAGICS[0]!;
    ctx.stream(`${doc.usage}\n\n${doc.help}\n`);
    return;
  }
  switch (m.name) {
    case "slurm":
      return slurmMagic(m.args, ctx);
    case "squeue":
      return squeueMagic(m.args, ctx);
    case "scancel":
      return scancelMagic(m.args, ctx);
    case "sacct":
      return sacctMagic(m.args, ctx);
  }
}

async function slurmMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (args.length === 1 && args[0] === "reset") {
    ctx.options.notebookDefaults = [];
    ctx.saveDefaults();
    ctx.stream(
      `Slurm defaults of this notebook cleared; cells get: ${describePairs((await ctx.options.describe()).pairs)}\n`,
    );
    return;
  }
  if (args[0] === "output") {
    if (args.length !== 2) throw new MagicError("usage: %slurm output JOBID");
    const job = ownJob(ctx, args[1]!);
    await ctx.replayOutput(job);
    return;
  }
  if (args.length) {
    await ctx.options.setNotebookDefaults(parseSlurmOptions(args, "%slurm"));
    ctx.saveDefaults();
  }
  const { pairs, sources } = await ctx.options.describe();
  const rows = pairs.map(([k, v]) => [k, v ?? "(set)", sources[k] ?? ""]);
  const note =
    ctx.backend === "local"
      ? "\n(local backend: these options are recorded in each job script but Slurm does not run it)"
      : "";
  const table: Table = { headers: ["option", "value", "from"], rows };
  ctx.display(renderTable(table, `defaults for the next cells: ${describePairs(pairs)}${note}`));
}

function ownJob(ctx: MagicContext, jobId: string): JobRecord {
  const job = ctx.jobs.get(jobId);
  if (!job || job.notebookKey !== ctx.notebookKey) {
    const mine = ctx.jobs.forNotebook(ctx.notebookKey).map((j) => j.id);
    throw new MagicError(
      `job ${jobId} is not a cell job of this notebook${mine.length ? ` (its jobs: ${mine.slice(-10).join(", ")})` : ""}`,
    );
  }
  return job;
}

async function squeueMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (args.length) throw new MagicError("%squeue takes no arguments: it lists this notebook's cell jobs");
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  const jobs = ctx.jobs.forNotebook(ctx.notebookKey).filter((j) => !j.ended || Date.parse(j.ended) > dayAgo);
  const rows = jobs.map((j) => {
    const live = ctx.liveStatus(j.id);
    const state = live?.state ?? j.state;
    const elapsed = clock(live?.elapsed ?? j.elapsed) ?? "0:00";
    const limit = clock(live?.timeLimit ?? j.timeLimit) ?? "—";
    const pending = state === "PENDING";
    return [
      String(j.executionCount || `s${j.seq}`) + (j.detached ? " (detached)" : ""),
      j.id,
      state,
      pending ? dash(live?.reason) : "—",
      dash(live?.partition ?? j.partition),
      `${elapsed}/${limit}`,
      pending ? "—" : dash(live?.node ?? j.node),
      pending ? dash(live?.startTime?.replace("T", " ")) : "—",
    ];
  });
  const table: Table = {
    headers: ["cell", "job", "state", "reason", "partition", "elapsed/limit", "node", "est. start"],
    rows,
  };
  ctx.display(
    renderTable(
      table,
      rows.length
        ? `${rows.length} cell job(s) of this notebook (last 24 h)`
        : "no cell jobs of this notebook in the last 24 h",
    ),
  );
}

async function scancelMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (!args.length) throw new MagicError("usage: %scancel JOBID... or %scancel --all");
  const targets =
    args.length === 1 && args[0] === "--all"
      ? ctx.jobs.forNotebook(ctx.notebookKey).filter((j) => !j.ended)
      : args.map((id) => ownJob(ctx, id));
  if (!targets.length) {
    ctx.stream("no cell job of this notebook is queued or running\n");
    return;
  }
  for (const job of targets) {
    await ctx.scheduler.cancel(job.id);
    ctx.stream(`cancelled job ${job.id} (cell ${job.executionCount || `s${job.seq}`})\n`);
  }
}

async function sacctMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (args.length > 1) throw new MagicError("usage: %sacct [JOBID]");
  const jobs = args.length ? [ownJob(ctx, args[0]!)] : ctx.jobs.forNotebook(ctx.notebookKey).slice(-50);
  if (!jobs.length) {
    ctx.stream("no cell jobs of this notebook yet\n");
    return;
  }
  let finals = new Map<string, FinalJobStatus>();
  if (ctx.backend === "slurm") {
    const { stdout } = await ctx.transport.run(
      ["sacct", ...SACCT_ARGS, "--jobs", jobs.map((j) => j.id).join(",")],
      { timeoutMs: 60_000 },
    );
    finals = parseSacct(stdout);
  }
  const rows = jobs.map((j) => {
    // Right after a job ends, accounting may still call it running: the job book knows better then.
    const fresh = finals.get(j.id);
    const f =
      fresh && (j.ended ? !["PENDING", "RUNNING", "COMPLETING"].includes(fresh.state) : true)
        ? fresh
        : undefined;
    const exit = f ? `${f.exitCode}:${f.signal}` : j.exitCode !== undefined ? String(j.exitCode) : "—";
    return [
      String(j.executionCount || `s${j.seq}`),
      j.id,
      f?.state ?? j.state,
      exit,
      dash(f?.elapsed ?? j.elapsed),
      dash(f?.maxRss ?? j.maxRss),
      dash(f?.reqMem),
    ];
  });
  ctx.display(
    renderTable(
      { headers: ["cell", "job", "state", "exit", "elapsed", "MaxRSS", "ReqMem"], rows },
      `accounting of ${rows.length} cell job(s)`,
    ),
  );
}
