/**
 * The kernel's line magics: %slurm (defaults, help, output), %squeue, %scancel, %sacct, and %who /
 * %whos (namespace-magics.ts). They run in the kernel, never as jobs, and speak only of this
 * notebook's cell jobs and namespace.
 */
import { jobOf, type CellRecord } from "../cells/cell-book";
import { cellLabel, stateWords } from "../protocol/jobs-feed";
import type { FinalJobStatus } from "../jobs/scheduler";
import { formatServiceUnits, serviceUnits } from "../jobs/slurm/billing";
import { parseSlurmDuration } from "../jobs/slurm/slurm-time";
import { describeTasks, parseArraySpec } from "../jobs/array/array-spec";
import { findMagic, MAGICS } from "../magics/registry";
import { parseSlurmOptions } from "../magics/sbatch-args";
import { MagicError, type LineMagic } from "../magics/types";
import type { OutputSink } from "./cell-output";
import { arrayRecord } from "./array-magics";
import type { CellHost } from "./cell-host";
import { namespaceCaption, whoMagic, whosMagic } from "./namespace-magics";
import { cancelCellJob, replayRecorded } from "./cell-jobs";
import { shortDuration } from "./status-display";
import { transferMagic } from "./transfer-magics";
import { ALLOCATION_COMMANDS, allocationMagic, allocationRows } from "./allocation-magics";
import type { MessageHeader } from "../protocol/messages";
import { renderTable, type Table } from "./table";

/** What a line magic works with: its session, and where its output goes. */
interface MagicContext {
  host: CellHost;
  out: OutputSink;
}

const display = (ctx: MagicContext, data: Record<string, string>) =>
  ctx.out.display("display_data", { data, metadata: {}, transient: {} });
const stream = (ctx: MagicContext, text: string) => ctx.out.stream("stdout", text);

const dash = (v: string | undefined) => (v && v !== "N/A" && v !== "None" ? v : "—");

function describePairs(pairs: readonly (readonly [string, string?])[]): string {
  return pairs.map(([k, v]) => (v === undefined ? k : `${k} ${v}`)).join(" ") || "(none: Slurm's defaults)";
}

export async function runLineMagic(
  m: LineMagic,
  host: CellHost,
  out: OutputSink,
  parent?: MessageHeader,
): Promise<void> {
  const ctx: MagicContext = { host, out };
  if (m.name === "slurm" && parent && ALLOCATION_COMMANDS.some((c) => c === m.args[0]))
    return allocationMagic(m.args, host, out, parent);
  if (m.args[0] === "?" || m.args[0] === "--help" || m.args[0] === "-h") {
    const doc = findMagic(m.name === "slurm" ? "%slurm" : `%${m.name}`) ?? MAGICS[0]!;
    stream(ctx, `${doc.usage}\n\n${doc.help}\n`);
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
    case "upload":
    case "download":
      return transferMagic(m.name, m.args, host, out);
    case "who":
      return whoMagic(m.args, host, out);
    case "whos":
      return whosMagic(m.args, host, out);
  }
}

async function slurmMagic(args: string[], ctx: MagicContext): Promise<void> {
  const { options } = ctx.host;
  if (args.length === 1 && args[0] === "reset") {
    options.notebookDefaults = [];
    options.notebookEnv = undefined;
    ctx.host.saveDefaults();
    stream(
      ctx,
      `Slurm defaults of this notebook cleared; cells get: ${describePairs((await options.describe()).pairs)}\n`,
    );
    return;
  }
  if (args[0] === "output") return outputMagic(args.slice(1), ctx);
  if (args[0] === "gather" || args[0] === "rerun")
    throw new MagicError(`%slurm ${args[0]} runs as the cell's job: put it at the top of a cell of its own`);
  if (args.length) {
    await options.setNotebookDefaults(parseSlurmOptions(args, "%slurm"));
    ctx.host.saveDefaults();
  }
  const { pairs, sources } = await options.describe();
  const rows = pairs.map(([k, v]) => [k, v ?? "(set)", sources[k] ?? ""]);
  rows.push(environmentRow(ctx));
  const note =
    ctx.host.env.config.backend === "local"
      ? "\n(local backend: cells run on this machine, not as Slurm jobs; of these options only --time is applied, as a time limit)"
      : "";
  const table: Table = { headers: ["option", "value", "from"], rows };
  display(ctx, renderTable(table, `defaults for the next cells: ${describePairs(pairs)}${note}`));
}

const manyRuns = (rs: readonly Pick<CellRecord, "run">[]) => new Set(rs.map((r) => r.run ?? 1)).size > 1;

/** The `%slurm` table's row for the cells' environment and, once known, its Python. */
function environmentRow(ctx: MagicContext): string[] {
  const { setup, source } = ctx.host.environmentFor();
  const python = ctx.host.env.python.peek(setup);
  const value = setup.conda_env ?? setup.python;
  const from = ctx.host.options.notebookEnv ? "%slurm" : setup.conda_env ? "config" : source;
  return ["--env", python ? `${value} (Python ${python.version} · ${python.path})` : value, from];
}

function notebookCells(ctx: MagicContext): CellRecord[] {
  return ctx.host.env.cells.forNotebook(ctx.host.notebookKey);
}

function ownJob(ctx: MagicContext, jobId: string): CellRecord {
  const rec = ctx.host.env.cells.byJob(jobId);
  if (ctx.host.env.allocations?.records(ctx.host.notebookKey).some((a) => a.jobId === jobId))
    throw new MagicError(`job ${jobId} is this notebook's allocation: %slurm release ends it`);
  if (!rec || rec.notebookKey !== ctx.host.notebookKey) {
    const mine = notebookCells(ctx).map((r) => r.jobId);
    throw new MagicError(
      `job ${jobId} is not a cell job of this notebook${mine.length ? ` (its jobs: ${mine.slice(-10).join(", ")})` : ""}`,
    );
  }
  return rec;
}

async function squeueMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (args.length) throw new MagicError("%squeue takes no arguments: it lists this notebook's cell jobs");
  const views = ctx.host.env.cells.feed.cellViews().filter((v) => v.notebookKey === ctx.host.notebookKey);
  const showRun = manyRuns(views);
  const now = Date.now();
  const rows = views.map((v) => {
    const pending = v.phase === "queued";
    const started = v.startedAt ?? (v.phase === "ended" ? undefined : now);
    const elapsed = v.end?.seconds ?? (v.phase === "running" && started ? (now - started) / 1000 : 0);
    const limit = v.timeLimitSeconds !== undefined ? shortDuration(v.timeLimitSeconds) : "—";
    return [
      cellLabel(v, showRun) + (v.detached ? " (detached)" : ""),
      v.jobId,
      stateWords(v),
      pending ? dash(v.reason) : "—",
      dash(v.partition),
      `${shortDuration(elapsed)}/${limit}`,
      pending ? "—" : dash(v.node),
      pending ? dash(v.estimatedStart?.replace("T", " ")) : "—",
    ];
  });
  rows.unshift(...allocationRows(ctx.host));
  const table: Table = {
    headers: ["cell", "job", "state", "reason", "partition", "elapsed/limit", "node", "est. start"],
    rows,
  };
  const notes = [
    showRun ? "run N: the Nth start of this notebook's kernel (a restart counts again from In [1])" : "",
    views.some((v) => v.end?.outcome === "raised")
      ? "FAILED (cell raised …): the cell's own Python error; other end states are the job's, from Slurm"
      : "",
  ].filter(Boolean);
  const jobs = rows.length
    ? `${rows.length} cell job(s) of this notebook (last 24 h)`
    : "no cell jobs of this notebook in the last 24 h";
  const caption = `${jobs} · ${namespaceCaption(ctx.host)}${notes.map((n) => `\n${n}`).join("")}`;
  display(ctx, renderTable(table, caption));
}

async function scancelMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (!args.length) throw new MagicError("usage: %scancel JOBID... or %scancel --all");
  const targets =
    args.length === 1 && args[0] === "--all"
      ? notebookCells(ctx).filter((r) => !r.ended)
      : args.map((id) => ownJob(ctx, id));
  if (!targets.length) {
    stream(ctx, "no cell job of this notebook is queued or running\n");
    return;
  }
  for (const r of targets) {
    await cancelCellJob(ctx.host.env, r);
    stream(ctx, `cancelled job ${r.jobId} (cell ${cellLabel(r, manyRuns(targets))})\n`);
  }
}

async function sacctMagic(args: string[], ctx: MagicContext): Promise<void> {
  if (args.length > 1) throw new MagicError("usage: %sacct [JOBID]");
  const recs = args.length ? [ownJob(ctx, args[0]!)] : notebookCells(ctx).slice(-50);
  if (!recs.length) {
    stream(ctx, "no cell jobs of this notebook yet\n");
    return;
  }
  // A cell that ran inside an allocation is no job of its own: its record is all there is.
  const finals: Map<string, FinalJobStatus> = await ctx.host.env.scheduler.accounting(
    recs.filter((r) => r.via !== "allocation").map((r) => r.jobId),
  );
  const showRun = manyRuns(recs);
  const rows = recs.map((r) => {
    // Right after a job ends, accounting may still call it running: the cell book knows better then.
    const fresh = finals.get(r.jobId);
    const f =
      fresh && (r.ended ? !["PENDING", "RUNNING", "COMPLETING"].includes(fresh.state) : true)
        ? fresh
        : undefined;
    return [
      cellLabel(r, showRun),
      r.jobId,
      f?.state ?? r.state,
      f ? `${f.exitCode}:${f.signal}` : "—",
      dash(f?.elapsed ?? r.elapsed),
      dash(f?.maxRss ?? r.maxRss),
      dash(f?.reqMem),
      usedUnits(f),
    ];
  });
  const table = { headers: ["cell", "job", "state", "exit", "elapsed", "MaxRSS", "ReqMem", "SU"], rows };
  display(ctx, renderTable(table, `accounting of ${rows.length} cell job(s)`));
}

/** Service units a job used, as Slurm bills them: its billing TRES × elapsed hours. */
function usedUnits(f: FinalJobStatus | undefined): string {
  const seconds = f?.elapsed ? parseSlurmDuration(f.elapsed) : null;
  if (f?.billing === undefined || seconds === null) return "—";
  return formatServiceUnits(serviceUnits(f.billing, seconds)).replace(/ SU$/, "");
}

const OUTPUT_USAGE = "usage: %slurm output JOBID | ARRAY_TASK (e.g. 4521_17) | JOBID --rank N";

/** `%slurm output`: a cell job's whole output, an array task's, an srun task's, or an array's tasks. */
async function outputMagic(args: string[], ctx: MagicContext): Promise<void> {
  const [id, flag, rank, ...rest] = args;
  if (!id || rest.length || (flag !== undefined && (flag !== "--rank" || !/^\d+$/.test(rank ?? ""))))
    throw new MagicError(OUTPUT_USAGE);
  const files = ctx.host.env.files;
  const task = /^(\d+)_(\d+)$/.exec(id);
  if (task) {
    const rec = arrayRecord(ctx.host, task[1]!);
    const index = Number(task[2]);
    if (!parseArraySpec(rec.array!.spec).tasks.includes(index))
      throw new MagicError(
        `array ${rec.jobId} has no task ${index} (its tasks: ${describeTasks(parseArraySpec(rec.array!.spec).tasks)})`,
      );
    const what = `task ${id}`;
    return replayRecorded(await files.recordedPart(jobOf(rec), "tasks", index), rec, what, ctx.out);
  }
  const rec = ownJob(ctx, id);
  if (flag === "--rank") {
    if (rec.mode !== "srun") throw new MagicError(`job ${id} is not an %%srun cell: it has no ranks`);
    const size = await files.rankCount(jobOf(rec));
    if (size !== undefined && Number(rank) >= size)
      throw new MagicError(`job ${id} has no rank ${rank}: it ran ${size} task(s), ranks 0-${size - 1}`);
    const what = `rank ${rank} of job ${id}`;
    return replayRecorded(await files.recordedPart(jobOf(rec), "ranks", Number(rank)), rec, what, ctx.out);
  }
  if (rec.array) return arrayTable(rec, ctx);
  return replayRecorded(await files.recorded(jobOf(rec)), rec, `job ${rec.jobId}`, ctx.out);
}

/** `%slurm output ARRAY`: how its tasks ended, and how to see one's output. */
function arrayTable(rec: CellRecord, ctx: MagicContext): void {
  const tasks = parseArraySpec(rec.array!.spec).tasks;
  const live = ctx.host.env.cells.liveCell(rec.id)?.parts;
  const failed = live
    ? live.failed.map((f) => ({
        index: f.index,
        state: f.outcome.kind === "died" ? f.outcome.final.state : "FAILED",
        name: f.error?.ename ?? "",
      }))
    : (rec.parts?.failed ?? []);
  const rows = failed.map((f) => [`${rec.jobId}_${f.index}`, f.state, f.name || "—"]);
  const counts = live
    ? `${live.done} done · ${live.running} running · ${live.pending} pending · ${live.failed.length} failed`
    : rec.parts
      ? `${rec.parts.done} done · ${rec.parts.failed.length} failed`
      : `${rec.state.toLowerCase()}`;
  const caption =
    `array ${rec.jobId} (cell ${cellLabel(rec, false)}, tasks ${describeTasks(tasks)}): ${counts}` +
    `${rows.length ? "; failed tasks below" : ""}. %slurm output ${rec.jobId}_${tasks[0]} shows a task's output` +
    `${rows.length ? `, %slurm rerun ${rec.jobId} --failed runs the failed ones again` : ""}.`;
  display(ctx, renderTable({ headers: ["task", "state", "error"], rows }, caption));
}
