/**
 * Every cell this server submitted, in the ledger: one record per cell, detached or not, written as
 * the cell moves (submitted, output delivered, ended). What `%squeue`, `%scancel`, `%sacct`,
 * `%slurm output` and a restarted server work from — also in a notebook reopened the next day.
 */
import type { CellOffsets, CellRunMode, SubmittedJob } from "../jobs/backend";
import type { RequestedResources } from "../jobs/diagnose";
import type { JobState, JobStatus } from "../jobs/scheduler";
import type { StartHint } from "../jobs/slurm/start-hints";
import type { Ledger, LedgerEntry } from "../ledger/ledger";
import { formatDuration } from "../jobs/slurm/slurm-time";
import type { JobOutcome } from "../protocol/jobs-feed";
import type { Cell } from "./cell";
import type { CellDependency, CellEnd, CellInfo, CellOrigin, CellOutput } from "./cell-types";
import { JobFeed } from "./job-feed";
import { migrateLegacy } from "./legacy-records";
import { allocationText } from "./job-view";
import { partsError } from "./parts-error";

export interface CellRecord extends LedgerEntry {
  kind: "cell";
  /** `<session id>/<seq>` */
  id: string;
  sessionId: string;
  notebookKey: string;
  seq: number;
  executionCount: number;
  detached: boolean;
  jobId: string;
  /** Session directory holding the cell's files, absolute on the cluster. */
  sessionDir: string;
  /** Where the cell's process started, absolute on the cluster. */
  workDir?: string;
  /** It ran inside a held allocation (its holder's job id): followed through it after a restart. */
  via?: "allocation";
  allocation?: string;
  submitted: string;
  partition?: string;
  requested: RequestedResources;
  origin: CellOrigin;
  /** Output delivered so far (attached cells in flight: a restarted server resumes there). */
  offsets?: CellOffsets;
  /** PENDING until the cell ends; then COMPLETED, FAILED (the cell raised) or the job's end state. */
  state: JobState;
  ended?: string;
  elapsed?: string;
  maxRss?: string;
  node?: string;
  firstLine?: string;
  cellId?: string;
  run?: number;
  notebookPath?: string;
  /** How it ended: `raised` is the cell's own exception, `died` the job's end (see errorName). */
  outcome?: JobOutcome;
  /** The cell's exception (ValueError) or the job's end (SlurmTimeout, SlurmCancelled...). */
  errorName?: string;
  /** What happened, in a sentence, when it did not complete. */
  endMessage?: string;
  /** `exit:signal`. */
  exitCode?: string;
  /** Slurm's billing units per hour, when squeue said. */
  billing?: number;
  /** "4 CPUs, 16G, 1 GPU": the allocation as squeue last said it. */
  resources?: string;
  /** Seconds from the start of the cell's process to its end (`elapsed` to the second). */
  seconds?: number;
  /** While it waits: a request that would start sooner (`sbatch --test-only`), for the jobs panel. */
  startHint?: StartHint;
  /** Absent: python. */
  mode?: CellRunMode;
  /** An array cell: its tasks and options (what `%slurm rerun` submits again). */
  array?: SubmittedJob["array"];
  after?: CellDependency[];
  /** How an array's tasks (or srun tasks) ended, once the cell has: counts and the failed ones. */
  parts?: PartsRecord;
}

export interface PartsRecord {
  unit: "task" | "rank";
  total: number;
  done: number;
  failed: { index: number; state: JobState; name: string }[];
}

const KEEP_ENDED_MS = 7 * 24 * 3600 * 1000;

/** The job a record names, to follow it again. */
export function jobOf(rec: CellRecord): SubmittedJob {
  const job: SubmittedJob = {
    jobId: rec.jobId,
    sessionDir: rec.sessionDir,
    seq: rec.seq,
    workDir: rec.workDir,
  };
  if (rec.via) Object.assign(job, { via: rec.via, allocation: rec.allocation });
  if (rec.detached) job.detached = true;
  if (rec.mode) job.mode = rec.mode;
  if (rec.array) job.array = rec.array;
  return job;
}

export function cellInfoOf(rec: CellRecord): CellInfo {
  const { sessionId, notebookKey, seq, executionCount, detached, partition, requested, origin } = rec;
  const { firstLine, cellId, run, notebookPath, mode, after } = rec;
  return {
    sessionId,
    notebookKey,
    seq,
    executionCount,
    detached,
    partition,
    requested,
    origin,
    ...defined({ firstLine, cellId, run, notebookPath, mode, after }),
  };
}

/** The object without its undefined fields (the ledger's JSON would drop them anyway). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The size of an output in bytes: its text, or its mime bundle's values. */
function outputSize(o: CellOutput): number {
  switch (o.type) {
    case "stream":
      return Buffer.byteLength(o.text);
    case "error":
      return Buffer.byteLength(o.traceback.join("\n") || o.evalue);
    case "clear_output":
      return 0;
    default:
      return Object.values(o.data).reduce<number>(
        (n, v) => n + (typeof v === "string" ? Buffer.byteLength(v) : JSON.stringify(v).length),
        0,
      );
  }
}

/** What the record keeps of a cell's end, besides its state: who ended it, why, the exit code. */
function endFields(e: CellEnd): Partial<CellRecord> {
  const o = e.outcome;
  switch (o.kind) {
    case "completed":
      return { outcome: "completed", exitCode: "0:0" };
    case "raised":
      return { outcome: "raised", errorName: o.error.ename, endMessage: o.error.evalue, exitCode: "1:0" };
    case "died":
      return {
        outcome: "died",
        errorName: o.failure.name,
        endMessage: o.failure.message,
        exitCode: o.final.unknown ? undefined : `${o.final.exitCode}:${o.final.signal}`,
      };
    case "lost":
      return { outcome: "lost", errorName: "CellLost", endMessage: o.message };
    case "refused":
      return { outcome: "refused", errorName: "SubmitError" };
    case "parts": {
      // Tasks failed: their job's end when any died (timeout, memory...), else their code raised.
      const died = o.failures.some((f) => f.state !== "FAILED");
      const err = partsError(o);
      return { outcome: died ? "died" : "raised", errorName: err.ename, endMessage: err.evalue };
    }
  }
}

/** Oldest first (ISO times compare as strings; localeCompare costs seconds over 10,000 records). */
function bySubmission(recs: CellRecord[]): CellRecord[] {
  return recs.sort((a, b) => (a.submitted < b.submitted ? -1 : a.submitted > b.submitted ? 1 : 0));
}

export interface TrackOptions {
  /** Runs `fn` once the outputs sent so far have left the server (the session's frontends). */
  afterDelivery?: (fn: () => void) => void;
  /** The session records the end itself, once its reply went out (`answered`). */
  answeredBySession?: boolean;
}

/** An array's (or srun cell's) end, kept small: counts, and each failed task's state and error name. */
function partsRecord(cell: Cell, end: CellEnd): PartsRecord | undefined {
  const summary = cell.parts;
  if (!summary) return undefined;
  const failures = end.outcome.kind === "parts" ? end.outcome.failures : [];
  return {
    unit: summary.unit,
    total: summary.total,
    done: summary.done,
    failed: failures.map((f) => ({ index: f.index, state: f.state, name: f.failure.name })),
  };
}

export class CellBook {
  /** Cells in flight in this server, by cell id. */
  private readonly live = new Map<string, Cell>();
  /** squeue's last word on each cell in flight (its billing and allocation are kept in the record). */
  private readonly statuses = new Map<string, JobStatus>();
  private readonly changeListeners = new Set<(id: string) => void>();
  /** Bytes of output cells sent on to their notebooks (stream text, displays, results, errors). */
  outputBytes = 0;
  /** Every cell job as the jobs panel, the queue page and /api/jobs show it, live. */
  readonly feed: JobFeed;

  constructor(private readonly ledger: Ledger) {
    migrateLegacy(ledger);
    const cutoff = Date.now() - KEEP_ENDED_MS;
    for (const r of this.all()) if (r.ended && Date.parse(r.ended) < cutoff) ledger.remove("cell", r.id);
    this.feed = new JobFeed(this);
  }

  /**
   * The change feed: told the id of a cell whenever its record or its live state changed
   * (queued, each word from the scheduler, running, ended). Returns the unsubscribe function.
   */
  onChange(listener: (id: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(id: string): void {
    for (const l of [...this.changeListeners]) l(id);
  }

  /**
   * Records the cell from its submission on, until it has ended: the whole record once, then only
   * what changes (delivered offsets, the end). With `afterDelivery`, offsets are recorded only once
   * the output they cover has left the server, and with `answeredBySession` the end only once the
   * session has sent the reply (`answered`): a server killed in between follows the cell again and
   * sends what was not delivered — never twice what was.
   */
  track(cell: Cell, options: TrackOptions = {}): void {
    this.live.set(cell.id, cell);
    const gate = options.afterDelivery ?? ((fn: () => void) => fn());
    const off = cell.on((ev) => {
      if (ev.type === "output") this.outputBytes += outputSize(ev.output);
      else if (ev.type === "offsets" && !cell.info.detached) {
        const offsets = ev.offsets;
        gate(() => this.saveOffsets(cell.id, offsets));
      } else if (ev.type === "hint") {
        this.saveHint(cell.id, ev.hint);
        this.changed(cell.id);
      } else if (ev.type === "phase" && ev.phase.name === "ended") {
        off();
        this.live.delete(cell.id);
        this.statuses.delete(cell.id);
        if (!options.answeredBySession) this.saveEnd(cell);
        this.changed(cell.id);
      } else if (ev.type === "phase") {
        const st = "status" in ev.phase ? ev.phase.status : undefined;
        if (st) this.statuses.set(cell.id, st);
        if (ev.phase.name === "queued" && !this.ledger.get("cell", cell.id)) this.create(cell);
        else if (st) this.saveAllocation(cell.id, st);
        this.changed(cell.id);
      }
    });
  }

  /** The session sent the reply of a cell it tracks with `answeredBySession`: its end is recorded now. */
  answered(cell: Cell): void {
    this.saveEnd(cell);
    this.changed(cell.id);
  }

  private create(cell: Cell): void {
    const job = cell.submittedJob;
    if (!job) return;
    const i = cell.info;
    const rec: CellRecord = {
      kind: "cell",
      id: cell.id,
      sessionId: i.sessionId,
      notebookKey: i.notebookKey,
      seq: i.seq,
      executionCount: i.executionCount,
      detached: i.detached,
      jobId: job.jobId,
      sessionDir: job.sessionDir,
      workDir: job.workDir,
      ...(job.via ? { via: job.via, allocation: job.allocation } : {}),
      submitted: new Date(cell.submitted ?? Date.now()).toISOString(),
      partition: i.partition,
      requested: i.requested,
      origin: i.origin,
      state: "PENDING",
      ...defined({
        firstLine: i.firstLine,
        cellId: i.cellId,
        run: i.run,
        notebookPath: i.notebookPath,
        billing: this.statuses.get(cell.id)?.billing,
        resources: allocationText(this.statuses.get(cell.id)),
        startHint: cell.startHint,
      }),
      ...(i.detached ? {} : { offsets: cell.offsets }),
    };
    if (job.mode) rec.mode = job.mode;
    if (job.array) rec.array = job.array;
    if (i.after) rec.after = i.after;
    this.ledger.put(rec);
  }

  /** Offsets only move forward (deliveries confirm in order; this guards the record anyway). */
  private saveOffsets(id: string, offsets: CellOffsets): void {
    const rec = this.ledger.get<CellRecord>("cell", id);
    if (!rec || rec.ended) return;
    const was = rec.offsets;
    if (was && was.events + was.stdout + was.stderr > offsets.events + offsets.stdout + offsets.stderr)
      return;
    this.ledger.update("cell", id, { offsets }, { durable: false });
  }

  /** A request that would start the waiting cell sooner (null: none any more), for the jobs panel. */
  private saveHint(id: string, hint: StartHint | undefined): void {
    const rec = this.ledger.get<CellRecord>("cell", id);
    if (!rec || rec.ended || (rec.startHint === undefined && hint === undefined)) return;
    this.ledger.update("cell", id, { startHint: hint ?? null }, { durable: false });
  }

  /** Billing and allocation as squeue last said them (the panel shows them after a restart too). */
  private saveAllocation(id: string, st: JobStatus): void {
    const rec = this.ledger.get<CellRecord>("cell", id);
    if (!rec || rec.ended) return;
    const patch = defined({ billing: st.billing, resources: allocationText(st) });
    if (
      (patch.billing ?? rec.billing) === rec.billing &&
      (patch.resources ?? rec.resources) === rec.resources
    )
      return;
    this.ledger.update("cell", id, patch, { durable: false });
  }

  private saveEnd(cell: Cell): void {
    const p = cell.phase;
    if (!cell.submittedJob || p.name !== "ended") return;
    if (!this.ledger.get("cell", cell.id)) this.create(cell);
    const e = p.end;
    this.ledger.update("cell", cell.id, {
      state: e.state,
      ended: new Date(e.at).toISOString(),
      maxRss: e.maxRss,
      node: e.node,
      offsets: null, // nothing more to deliver
      ...(e.seconds ? { elapsed: formatDuration(Math.round(e.seconds)) } : {}),
      ...defined({ ...endFields(e), seconds: e.seconds || undefined, parts: partsRecord(cell, e) }),
    });
  }

  all(): CellRecord[] {
    return bySubmission(this.ledger.list<CellRecord>("cell"));
  }

  record(id: string): CellRecord | undefined {
    return this.ledger.get<CellRecord>("cell", id);
  }

  forNotebook(notebookKey: string): CellRecord[] {
    return this.all().filter((r) => r.notebookKey === notebookKey);
  }

  byJob(jobId: string): CellRecord | undefined {
    return this.ledger.list<CellRecord>("cell").find((r) => r.jobId === jobId);
  }

  /** The live cell of a record still in flight in this server. */
  liveCell(id: string): Cell | undefined {
    return this.live.get(id);
  }

  /** Records of cells that had not ended when they were last written (to follow again after a restart). */
  inFlight(): CellRecord[] {
    return bySubmission(this.ledger.list<CellRecord>("cell").filter((r) => !r.ended));
  }

  /** Detached cells in flight: they keep the server from idling out. */
  detachedInFlight(): number {
    return [...this.live.values()].filter((c) => c.info.detached).length;
  }
}
