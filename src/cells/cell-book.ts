/**
 * Every cell this server submitted, in the ledger: one record per cell, detached or not, written as
 * the cell moves (submitted, output delivered, ended). What `%squeue`, `%scancel`, `%sacct`,
 * `%slurm output` and a restarted server work from — also in a notebook reopened the next day.
 */
import type { CellOffsets, CellRunMode, SubmittedJob } from "../jobs/backend";
import type { RequestedResources } from "../jobs/diagnose";
import type { JobState } from "../jobs/scheduler";
import type { Ledger, LedgerEntry } from "../ledger/ledger";
import { formatDuration } from "../jobs/slurm/slurm-time";
import type { Cell } from "./cell";
import type { CellDependency, CellEnd, CellInfo, CellOrigin } from "./cell-types";

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
  if (rec.mode) job.mode = rec.mode;
  if (rec.array) job.array = rec.array;
  return job;
}

export function cellInfoOf(rec: CellRecord): CellInfo {
  const { sessionId, notebookKey, seq, executionCount, detached, partition, requested, origin } = rec;
  const info: CellInfo = {
    sessionId,
    notebookKey,
    seq,
    executionCount,
    detached,
    partition,
    requested,
    origin,
  };
  if (rec.mode) info.mode = rec.mode;
  if (rec.after) info.after = rec.after;
  return info;
}

/** The two records ledgers held before cells had one record each (merged on start-up). */
interface LegacyJob extends LedgerEntry {
  sessionId: string;
  notebookKey: string;
  seq: number;
  executionCount: number;
  detached: boolean;
  sessionDir: string;
  submitted: string;
  partition?: string;
  timeLimit?: string;
  state: JobState;
  ended?: string;
  elapsed?: string;
  maxRss?: string;
  node?: string;
  parent?: CellOrigin["parent"];
  displayId?: string;
}
interface LegacyCellInFlight extends LedgerEntry {
  notebookKey?: undefined;
  parent: CellOrigin["parent"];
  clientId: string;
  allowStdin: boolean;
  requested: RequestedResources;
  offsets: CellOffsets;
}

/**
 * Ledgers written before cells had one record each held a "job" record per submitted cell and a
 * "cell" record (offsets, requester) per attached cell in flight: merge them into cell records, so
 * that an upgrade loses no queued cell.
 */
function migrateLegacy(ledger: Ledger): void {
  const inFlight = new Map(
    ledger
      .list<LegacyCellInFlight>("cell")
      .filter((r) => r.notebookKey === undefined)
      .map((r) => [r.id, r]),
  );
  for (const j of ledger.list<LegacyJob>("job")) {
    const id = `${j.sessionId}/${j.seq}`;
    const c = inFlight.get(id);
    const parent = c?.parent ?? j.parent;
    ledger.remove("job", j.id);
    if (!parent) continue; // nothing to answer: never written by a released version
    const rec: CellRecord = {
      kind: "cell",
      id,
      sessionId: j.sessionId,
      notebookKey: j.notebookKey,
      seq: j.seq,
      executionCount: j.executionCount,
      detached: j.detached,
      jobId: j.id,
      sessionDir: j.sessionDir,
      submitted: j.submitted,
      partition: j.partition,
      requested: c?.requested ?? { time: j.timeLimit, partition: j.partition },
      origin: {
        parent,
        clientId: c?.clientId ?? "",
        allowStdin: c?.allowStdin ?? false,
        displayId: j.displayId,
      },
      offsets: c?.offsets,
      state: j.state,
      ended: j.ended,
      elapsed: j.elapsed,
      maxRss: j.maxRss,
      node: j.node,
    };
    ledger.put(rec);
  }
  for (const id of inFlight.keys())
    if (ledger.get<CellRecord>("cell", id)?.notebookKey === undefined) ledger.remove("cell", id);
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

  constructor(private readonly ledger: Ledger) {
    migrateLegacy(ledger);
    const cutoff = Date.now() - KEEP_ENDED_MS;
    for (const r of this.all()) if (r.ended && Date.parse(r.ended) < cutoff) ledger.remove("cell", r.id);
  }

  /** Records the cell from its submission on, until it has ended. */
  track(cell: Cell): void {
    this.live.set(cell.id, cell);
    const off = cell.on((ev) => {
      if (ev.type === "offsets" && !cell.info.detached) this.save(cell);
      else if (ev.type === "phase" && ev.phase.name === "queued" && !this.ledger.get("cell", cell.id))
        this.save(cell);
      else if (ev.type === "phase" && ev.phase.name === "ended") {
        off();
        this.live.delete(cell.id);
        if (cell.submittedJob) this.save(cell);
      }
    });
  }

  private save(cell: Cell): void {
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
      submitted: new Date(cell.submitted ?? Date.now()).toISOString(),
      partition: i.partition,
      requested: i.requested,
      origin: i.origin,
      state: "PENDING",
    };
    if (job.mode) rec.mode = job.mode;
    if (job.array) rec.array = job.array;
    if (i.after) rec.after = i.after;
    const p = cell.phase;
    if (p.name === "ended") {
      const e = p.end;
      Object.assign(rec, {
        state: e.state,
        ended: new Date(e.at).toISOString(),
        maxRss: e.maxRss,
        node: e.node,
        ...(e.seconds ? { elapsed: formatDuration(Math.round(e.seconds)) } : {}),
      });
      const parts = partsRecord(cell, e);
      if (parts) rec.parts = parts;
    } else if (!i.detached) {
      rec.offsets = cell.offsets;
    }
    this.ledger.put(rec);
  }

  all(): CellRecord[] {
    return this.ledger.list<CellRecord>("cell").sort((a, b) => a.submitted.localeCompare(b.submitted));
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
    return this.all().filter((r) => !r.ended);
  }

  /** Detached cells in flight: they keep the server from idling out. */
  detachedInFlight(): number {
    return [...this.live.values()].filter((c) => c.info.detached).length;
  }
}
