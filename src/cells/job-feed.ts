/**
 * The jobs feed: every cell job of this server as `JobView`s, kept current from the cell book's
 * change feed, for the jobs panel (through each kernel's comm), the queue page (its WebSocket) and
 * `GET /api/jobs`. One source of truth: a view changes here, every subscriber hears it once.
 * Subscribers get a snapshot, then only the views that changed, and notices of the moments worth
 * telling a person about (a cell started after waiting; a cell ended).
 */
import { VERSION } from "../version";
import type { AllocationRecord } from "../jobs/allocation/allocations";
import type { JobStatus } from "../jobs/scheduler";
import type { JobNotice, JobView, JobsFeedMessage } from "../protocol/jobs-feed";
import { allocationView } from "./allocation-view";
import type { Cell } from "./cell";
import type { CellRecord } from "./cell-book";
import { jobView } from "./job-view";

/** What the feed reads from the cell book. */
export interface FeedSource {
  all(): CellRecord[];
  record(id: string): CellRecord | undefined;
  liveCell(id: string): Cell | undefined;
  onChange(listener: (id: string) => void): () => void;
}

/** What the feed reads about held allocations (`%slurm allocate`), each a row of its own. */
export interface AllocationSource {
  list(): AllocationRecord[];
  record(id: string): AllocationRecord | undefined;
  statusOf(id: string): JobStatus | undefined;
  onChange(listener: (id: string) => void): () => void;
  readonly warnAheadSeconds: number;
}

export type FeedListener = (message: JobsFeedMessage) => void;

/** Ended cells stay in the views this long (the ledger keeps them a week; `%sacct` reads those). */
const SHOW_ENDED_MS = 24 * 3600 * 1000;

export class JobFeed {
  private readonly listeners = new Set<FeedListener>();
  /** The last view told, as JSON, by cell id: nothing is told twice. */
  private readonly told = new Map<string, string>();
  /** What the last view was made from (record version, live phase), by cell id: unchanged, not remade. */
  private readonly inputs = new Map<string, unknown[]>();
  /** When each cell in flight entered the queue, to say how long it waited. */
  private readonly queuedAt = new Map<string, number>();
  /** Notebook paths the frontends told, by kernel (session) id. */
  private readonly paths = new Map<string, string>();
  private allocations: AllocationSource | undefined;

  constructor(private readonly source: FeedSource) {
    source.onChange((id) => this.changed(id));
  }

  /** Held allocations join the feed (the slurm backend has them), each as a row of its own. */
  addAllocations(allocations: AllocationSource): void {
    this.allocations = allocations;
    allocations.onChange((id) => this.allocationChanged(id));
  }

  /** Every cell (and held allocation) in flight, and those that ended in the last 24 hours, oldest first. */
  views(): JobView[] {
    const since = Date.now() - SHOW_ENDED_MS;
    const recent = (r: { ended?: string }) => !r.ended || Date.parse(r.ended) >= since;
    const cells = this.source
      .all()
      .filter(recent)
      .map((r) => this.viewOf(r));
    const held = (this.allocations?.list() ?? []).filter(recent).map((r) => this.allocationViewOf(r));
    return held.length ? [...cells, ...held].sort((a, b) => a.submittedAt - b.submittedAt) : cells;
  }

  /** The cells' views alone (`%squeue` lists allocations its own way; metrics count cells). */
  cellViews(): JobView[] {
    return this.views().filter((v) => v.kind !== "allocation");
  }

  /** Sends the snapshot at once, then every change; returns the unsubscribe function. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    try {
      listener({ type: "snapshot", jobs: this.views(), now: Date.now(), version: VERSION });
    } catch {
      // as in tell(): a subscriber that fails is its own concern
    }
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** A frontend said where the notebook of kernel `sessionId` is: its cells' views say so too. */
  setNotebookPath(sessionId: string, path: string): void {
    if (this.paths.get(sessionId) === path) return;
    this.paths.set(sessionId, path);
    for (const r of this.source.all()) if (r.sessionId === sessionId && !r.notebookPath) this.changed(r.id);
    for (const r of this.allocations?.list() ?? [])
      if (r.sessionId === sessionId) this.allocationChanged(r.id);
  }

  notebookPath(sessionId: string): string | undefined {
    return this.paths.get(sessionId);
  }

  private viewOf(rec: CellRecord): JobView {
    return jobView(rec, this.source.liveCell(rec.id), this.paths.get(rec.sessionId));
  }

  private allocationViewOf(rec: AllocationRecord): JobView {
    const a = this.allocations!;
    return allocationView(rec, a.warnAheadSeconds, a.statusOf(rec.id), this.paths.get(rec.sessionId));
  }

  private allocationChanged(id: string): void {
    const rec = this.allocations?.record(id);
    if (rec) this.publish(this.allocationViewOf(rec));
  }

  private changed(id: string): void {
    const rec = this.source.record(id);
    if (!rec) return; // not recorded yet (still being submitted)
    // Each squeue pass re-delivers every cell's status: most of the time nothing moved.
    const live = this.source.liveCell(id)?.phase;
    // The ledger changes a record in place: a shallow copy keeps what this view was made from.
    const inputs = [
      { ...rec },
      live?.name,
      live && "status" in live ? live.status : undefined,
      this.paths.get(rec.sessionId),
    ];
    const last = this.inputs.get(id);
    if (last && inputs.every((x, i) => x === last[i] || sameFields(x, last[i]))) return;
    this.inputs.set(id, inputs);
    this.publish(this.viewOf(rec));
  }

  /** Tells a view that changed, and the notice its change is worth. */
  private publish(view: JobView): void {
    const json = JSON.stringify(view);
    const before = this.told.get(view.id);
    if (before === json) return;
    this.told.set(view.id, json);
    const wasPhase = before ? (JSON.parse(before) as JobView).phase : undefined;
    this.tell({ type: "update", jobs: [view], now: Date.now() });
    const notice = this.noticeOf(view, wasPhase);
    if (notice) this.tell({ type: "notice", notice });
  }

  private noticeOf(view: JobView, was: JobView["phase"] | undefined): JobNotice | undefined {
    if (view.phase === "queued" && view.queuedAt !== undefined) this.queuedAt.set(view.id, view.queuedAt);
    if (view.phase === "running" && was === "queued") {
      const queued = this.queuedAt.get(view.id);
      const started = view.startedAt ?? Date.now();
      const waitedSeconds = queued === undefined ? 0 : Math.max(0, (started - queued) / 1000);
      return { kind: "started", job: view, waitedSeconds: Math.round(waitedSeconds * 10) / 10 };
    }
    if (view.phase === "ended" && was !== undefined && was !== "ended") {
      this.queuedAt.delete(view.id);
      this.told.delete(view.id); // nothing changes any more: forget it
      this.inputs.delete(view.id);
      return { kind: "ended", job: view };
    }
    return undefined;
  }

  private tell(message: JobsFeedMessage): void {
    for (const l of [...this.listeners]) {
      try {
        l(message);
      } catch {
        // one subscriber's failure (a closed socket) is not the others' concern
      }
    }
  }
}

/** Statuses are fresh objects every squeue pass, flat ones: equal when every field is. */
function sameFields(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}
