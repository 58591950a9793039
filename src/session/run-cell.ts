/**
 * One execute_request from code to reply, in three small steps: plan (parse the magics — nothing
 * is submitted if they are wrong —, run the kernel's line magics, work out the cell's Slurm options
 * and check them against the cluster), submit (a `Cell`, shown in the notebook, handed to the
 * execution backend), follow (its end makes the reply; a detached cell is answered at once and
 * shows its output under its status line when it ends).
 */
import { cellInfoOf, jobOf, type CellRecord } from "../cells/cell-book";
import { Cell } from "../cells/cell";
import type { CellInfo } from "../cells/cell-types";
import { NO_OFFSETS, type CellJobSpec } from "../jobs/backend";
import { firstCodeLine } from "../cells/job-view";
import { SubmitError } from "../jobs/slurm/slurm-scheduler";
import { parseCell } from "../magics/parse-cell";
import { MagicError, type SbatchPair } from "../magics/types";
import type { ExecuteReplyContent } from "../protocol/messages";
import {
  bindOutputs,
  errorContent,
  errorReply,
  iopubSink,
  okReply,
  replyFor,
  type OutputSink,
} from "./cell-output";
import type { CellHost, CellRequest, SessionPlace } from "./cell-host";
import type { EffectiveOptions } from "./cell-options";
import { shapeJob, shapeRerun, takeJobMagics, type CellJobShape } from "./cell-shape";
import type { SessionEnvironment } from "./environment";
import { InputRelay } from "./input-relay";
import { runLineMagic } from "./line-magics";
import { OutputCollector } from "./output-collector";
import { newDisplayId, notesBundle, pythonNote } from "./status-display";
import { environmentKey, extrasWarning } from "./cell-environment";
import { EnvironmentError } from "../jobs/python-check";
import type { EnvironmentSetup } from "../jobs/job-script";
import { errorName } from "../errors";
import { StatusLine } from "./status-line";

type Plan = { kind: "answered"; reply: ExecuteReplyContent } | { kind: "job"; shape: CellJobShape };

/** An error the kernel itself reports (nothing of the cell ran). */
function refuse(sink: OutputSink, count: number, ename: string, evalue: string): ExecuteReplyContent {
  const e = errorContent(ename, evalue);
  sink.error(e);
  return errorReply(count, e);
}

async function plan(host: CellHost, req: CellRequest, sink: OutputSink): Promise<Plan> {
  const count = req.executionCount;
  try {
    const parsed = parseCell(req.code);
    const { gather, rerun, others } = takeJobMagics(parsed.lineMagics);
    for (const m of others) await runLineMagic(m, host, sink, req.header);
    if (rerun) return { kind: "job", shape: await shapeRerun(host, parsed, rerun) };
    // A %%slurm cell with no code, or only magics: nothing to run (a gather runs even so).
    if (!parsed.body.trim() && !gather) return { kind: "answered", reply: okReply(count) };
    const options = await host.options.effective(parsed.cellOptions);
    return { kind: "job", shape: await shapeJob(host, parsed, options, gather) };
  } catch (err) {
    if (!(err instanceof MagicError)) throw err;
    return {
      kind: "answered",
      reply: refuse(sink, count, "MagicError", `${err.message} (nothing was submitted)`),
    };
  }
}

/**
 * The session's first status line says where its cells run, when that is not the notebook's own
 * folder (a laptop reaching the cluster over SSH): files the notebook opens are found there.
 */
function whereCellsRun(place: SessionPlace): ((cell: Cell) => string | undefined) | undefined {
  if (place.cellsDir === place.localDir) return undefined;
  return (cell) => {
    const dir = cell.submittedJob?.workDir;
    return (
      dir &&
      `this notebook's cells run in ${dir} on the cluster (%upload and %download move files there and back)`
    );
  };
}

/** Options the backend will not apply (the local backend: all but --time), each said once per session. */
function sayIgnoredOptions(host: CellHost, sbatch: readonly SbatchPair[], sink: OutputSink): void {
  const unsaid = host.env.backend.ignoredOptions(sbatch).filter(([k]) => host.once(`ignored ${k}`));
  if (!unsaid.length) return;
  const list = unsaid.map(([k, v]) => (v === undefined ? k : `${k} ${v}`)).join(", ");
  sink.stream(
    "stderr",
    `alpine-kernel: cells run on this machine (backend: local), not as Slurm jobs: ${list} ${unsaid.length > 1 ? "are" : "is"} not applied (--time is, as a time limit). Set backend: slurm in the configuration to run cells on the cluster.\n`,
  );
}

/** Local attached cells are over too fast for a status line while they run. */
const quietLine = (backend: string, detached: boolean) => backend !== "slurm" && !detached;

/** Shows a cell in its session: outputs, status line, input, namespace; and files it in the cell book. */
function present(
  host: CellHost,
  cell: Cell,
  resumed: boolean,
  notes: string[] = [],
  routeNote?: string,
): void {
  const { detached, origin } = cell.info;
  const collector = detached ? new OutputCollector() : undefined;
  bindOutputs(cell, collector ?? iopubSink(host.publish, origin.parent));
  if (origin.displayId) {
    const publish = (
      type: "display_data" | "update_display_data",
      data: Record<string, string>,
      id: string,
    ) => host.publish(type, { data, metadata: {}, transient: { display_id: id } }, origin.parent);
    new StatusLine(publish, cell, host.env.health, {
      partition: cell.info.partition,
      displayId: origin.displayId,
      shown: resumed,
      notes,
      collected: collector && ((jobId) => collector.rendered(jobId)),
      note: routeNote
        ? () => routeNote
        : !resumed && host.once("status line")
          ? whereCellsRun(host.place)
          : undefined,
      ...(host.allocation ? { allocation: () => host.allocation?.viewOf(cell) } : {}),
      quiet: quietLine(host.env.config.backend, detached),
    });
  }
  if (!detached) {
    const ask = (prompt: string, password: boolean) =>
      host.askInput(origin.clientId, prompt, password, origin.parent);
    host.setCurrent(cell, origin.allowStdin ? new InputRelay(cell, ask) : undefined);
    const off = cell.on((ev) => {
      // A cell in a held allocation writes nothing: the store keeps its size.
      if (ev.type === "namespace" && ev.names)
        host.setNamespace(ev.names, ev.use.storeBytes ?? host.namespaceBytes, ev.kinds);
      else if (ev.type === "phase" && ev.phase.name === "ended") {
        off();
        host.setCurrent(undefined);
      }
    });
  }
  host.env.cells.track(
    cell,
    detached ? {} : { afterDelivery: (fn) => host.afterDelivery(fn), answeredBySession: true },
  );
}

/**
 * The cell's environment, checked (once per server, kept once good) before anything is submitted;
 * the first time a session uses it, the Python that runs the cells is named (and what it lacks).
 */
async function environmentOf(
  host: CellHost,
  options: EffectiveOptions,
  sink: OutputSink,
  count: number,
): Promise<{ setup: EnvironmentSetup; notes: string[] } | { reply: ExecuteReplyContent }> {
  const { setup, source } = host.environmentFor(options.env);
  let info;
  try {
    info = await host.env.python.check(setup);
  } catch (err) {
    if (!(err instanceof EnvironmentError)) throw err;
    const asked = options.env ? `\n(this notebook or cell asked for it with --env ${options.env})` : "";
    return {
      reply: refuse(sink, count, errorName(err.code), `${err.message}${asked}\n(nothing was submitted)`),
    };
  }
  if (!host.once(environmentKey(setup))) return { setup, notes: [] };
  const warning = extrasWarning(info, setup);
  if (warning) sink.stream("stderr", warning);
  return { setup, notes: [pythonNote(info, source)] };
}

/** The reply, and the cell when one ran (its end is recorded once the reply has left: `CellBook.answered`). */
export interface CellRun {
  reply: ExecuteReplyContent;
  cell?: Cell;
}

export async function runCell(host: CellHost, req: CellRequest): Promise<CellRun> {
  const count = req.executionCount;
  const sink = iopubSink(host.publish, req.header);
  const planned = await plan(host, req, sink);
  if (planned.kind === "answered") return { reply: planned.reply };
  const { shape } = planned;
  const { options } = shape;
  const { env } = host;
  const environment = await environmentOf(host, options, sink, count);
  if ("reply" in environment) return { reply: environment.reply };
  const seq = host.nextSeq();
  const detached = options.detach;
  const info: CellInfo = {
    sessionId: host.id,
    notebookKey: host.notebookKey,
    seq,
    executionCount: count,
    detached,
    partition: options.partition,
    requested: options.requested,
    origin: {
      parent: req.header,
      clientId: req.clientId,
      allowStdin: req.allowStdin && !detached && !shape.array,
      // Slurm cells (unless slurm.status_line is off) and detached ones show a status line; local
      // attached cells are over too fast: theirs shows only at the end of one that moved a lot of
      // namespace data.
      displayId:
        env.config.backend !== "slurm" || env.config.slurm.status_line || detached
          ? newDisplayId()
          : undefined,
    },
    firstLine: firstCodeLine(shape.code),
    run: host.run,
    ...(req.cellId ? { cellId: req.cellId } : {}),
    ...(host.notebookPath ? { notebookPath: host.notebookPath } : {}),
  };
  if (shape.mode) info.mode = shape.mode;
  if (shape.after) info.after = shape.after;
  sayIgnoredOptions(host, options.sbatch, sink);
  for (const note of shape.notes) sink.stream("stderr", note);
  // In the notebook's held allocation when the cell fits it (a Python cell, not an array); else a
  // job of its own, and why.
  const ownShape = Boolean(shape.array) || (shape.mode !== undefined && shape.mode !== "python");
  const route = (ownShape ? undefined : await host.allocation?.route(options, sink, req.header)) ?? {};
  if (route.allocation) {
    info.partition = route.partition;
    info.requested = { ...options.requested, time: undefined, partition: route.partition };
  }
  if (route.note && !info.origin.displayId) sink.stream("stderr", `alpine-kernel: this cell ${route.note}\n`);
  const cell = new Cell(info, (m) => env.log.warn(m));
  // Local attached cells show no status line while they run: the Python is named on a line of its
  // own (with slurm.status_line off, a cell sends exactly ipykernel's outputs: nothing).
  if (environment.notes.length && env.config.slurm.status_line && quietLine(env.config.backend, detached))
    sink.display("display_data", { data: notesBundle(environment.notes), metadata: {}, transient: {} });
  present(host, cell, false, environment.notes, route.note && `this cell ${route.note}`);
  const spec: CellJobSpec = {
    sessionId: host.id,
    sessionDir: host.place.dir,
    notebook: host.place.notebook,
    workDir: host.place.cellsDir,
    seq,
    executionCount: count,
    code: shape.code,
    silent: req.silent,
    storeHistory: req.storeHistory,
    allowStdin: req.allowStdin,
    detached,
    sbatch: options.sbatch,
    environment: environment.setup,
    ...(route.allocation ? { allocation: route.allocation } : {}),
  };
  if (shape.mode) spec.mode = shape.mode;
  if (shape.array) spec.array = shape.array;
  if (shape.gather) spec.gather = shape.gather;
  try {
    await cell.submit(env.backend, spec);
  } catch (err) {
    if (!(err instanceof SubmitError)) throw err;
    env.discovery?.invalidate();
    return {
      reply: refuse(
        sink,
        count,
        "SubmitError",
        `${err.message}\n(nothing is queued; fix the options and run the cell again)`,
      ),
    };
  }
  if (detached) return { reply: okReply(count) };
  return { reply: replyFor(await cell.finished, count), cell };
}

/**
 * Follows again a cell that was in flight when the server stopped, shown in `host` (its session,
 * reopened) or nowhere (its kernel was shut down: its end is still recorded).
 */
export function resumeCell(env: SessionEnvironment, rec: CellRecord, host?: CellHost): Cell {
  const cell = new Cell(cellInfoOf(rec), (m) => env.log.warn(m));
  if (host) present(host, cell, true);
  else env.cells.track(cell);
  cell.resume(
    env.backend,
    { ...jobOf(rec), detached: rec.detached },
    Date.parse(rec.submitted),
    rec.offsets ?? NO_OFFSETS,
  );
  return cell;
}
