/**
 * One held allocation: its holder job (queued → starting → ready → ended), what its daemon
 * reports (events.jsonl, read into a `DaemonState`), and the requests the server sends it. The
 * cells that run in it are followed by `AllocationBackend`; this class tells them whether they are
 * still alive.
 */
import { join } from "node:path";
import { errorMessage } from "../../errors";
import { LineTail } from "../file-tail";
import type { FinalJobStatus, JobState, JobStatus } from "../scheduler";
import { EndClock } from "./end-clock";
import { allocationPaths, requestFileName, type AllocationPaths } from "./allocation-paths";
import { parseAllocationEvents, parseReply, type AllocationRequest } from "./allocation-protocol";
import {
  endWords,
  type AllocationContext,
  type AllocationEnd,
  type AllocationInfo,
  type AllocationNews,
  type AllocationPhase,
  type CellState,
  type DiedEvent,
  type SavedEvent,
  type WorkerEvent,
} from "./allocation-types";
import { DaemonState } from "./daemon-state";
import { shapeOf, type AllocationShape } from "./fit";

export type * from "./allocation-types";

const POLL_BUSY_MS = 100;
const POLL_IDLE_MS = 2000;
/** How long a request waits for the daemon's answer before the server gives up on it. */
const REPLY_POLL_MS = 15;

export class Allocation {
  readonly paths: AllocationPaths;
  private phaseNow: AllocationPhase;
  private statusNow: JobStatus | undefined;
  private readonly clock: EndClock;
  private readonly daemon = new DaemonState();
  private readonly listeners = new Set<(news: AllocationNews) => void>();
  private readonly saves = new Map<string, (ev: SavedEvent) => void>();
  private readonly tail: LineTail;
  private counter = 0;
  private releasing = false;
  private replaying: boolean;
  private wake: (() => void) | undefined;
  private readonly stopWatching: () => void;
  private readonly stopWatchingDir: (() => void) | undefined;
  private closed = false;
  private troubleNow: string | undefined;

  constructor(
    readonly info: AllocationInfo,
    private readonly ctx: AllocationContext,
    opts: { resumed: boolean; ended?: AllocationEnd },
  ) {
    this.paths = allocationPaths(info.sessionDir, info.n);
    this.clock = new EndClock({
      warnAheadSeconds: ctx.warnAheadSeconds,
      onEnd: (endsAt) => {
        const req = { kind: "deadline", end: endsAt / 1000, save_ahead: ctx.saveAheadSeconds } as const;
        this.request(req).catch((err) =>
          ctx.log(`allocation ${this.jobId}: telling its daemon the end time failed: ${errorMessage(err)}`),
        );
      },
      onWarn: (endsAt) => {
        if (this.live) this.tell({ type: "ending-soon", endsAt });
      },
    });
    this.phaseNow = opts.ended
      ? { name: "ended", end: opts.ended }
      : { name: "queued", since: info.submitted };
    this.replaying = opts.resumed;
    this.tail = new LineTail(ctx.transport, this.paths.events, 0);
    // An allocation known to have ended is only read once (how its cells ended), never watched.
    this.stopWatching = opts.ended
      ? () => {}
      : ctx.scheduler.watch(
          info.jobId,
          (s) => this.onStatus(s),
          () => void this.onGone(),
        );
    this.stopWatchingDir = ctx.watchDir?.(this.paths.dir, () => this.wake?.());
    void this.followEvents();
  }

  get jobId(): string {
    return this.info.jobId;
  }
  get phase(): AllocationPhase {
    return this.phaseNow;
  }
  get live(): boolean {
    return this.phaseNow.name !== "ended";
  }
  get status(): JobStatus | undefined {
    return this.statusNow;
  }
  get node(): string | undefined {
    return this.statusNow?.node ?? this.daemon.host;
  }
  /** When its time limit ends it (epoch ms), once it runs. */
  get endsAt(): number | undefined {
    return this.clock.endsAt;
  }
  get generation(): number {
    return this.daemon.generation;
  }
  get lastSave(): SavedEvent | undefined {
    return this.daemon.lastSave;
  }
  /** What its Python said when it was last (re)started: names restored, seconds it took. */
  get worker(): WorkerEvent | undefined {
    return this.daemon.worker;
  }
  remainingSeconds(now = Date.now()): number | undefined {
    const end = this.clock.endsAt;
    return end === undefined ? undefined : Math.max(0, (end - now) / 1000);
  }
  shape(): AllocationShape {
    const left = this.remainingSeconds();
    return shapeOf(this.jobId, this.info.sbatch, this.statusNow, left);
  }
  deathOf(seq: number): DiedEvent | undefined {
    return this.daemon.deaths.get(seq);
  }
  cellState(seq: number): CellState | undefined {
    return this.daemon.cells.get(seq);
  }

  on(listener: (news: AllocationNews) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(news: AllocationNews): void {
    for (const l of [...this.listeners]) l(news);
  }

  private setPhase(phase: AllocationPhase): void {
    this.phaseNow = phase;
    this.tell({ type: "phase", phase });
    this.wake?.();
  }

  // ------------------------------------------------------------------ the holder job

  private onStatus(s: JobStatus): void {
    this.statusNow = s;
    const p = this.phaseNow;
    if (p.name === "ended") return;
    if (s.state === "RUNNING" || s.state === "COMPLETING") {
      this.clock.note(s);
      if (p.name === "queued") this.setPhase({ name: "starting", since: Date.now(), status: s });
      else this.setPhase({ ...p, status: s });
    } else if (p.name === "queued") {
      this.setPhase({ name: "queued", since: p.since, status: s });
    }
  }

  private async onGone(): Promise<void> {
    if (this.phaseNow.name === "ended") return;
    let final: FinalJobStatus | undefined;
    try {
      final = await this.ctx.scheduler.final(this.jobId);
    } catch (err) {
      this.ctx.log(`allocation ${this.jobId}: accounting failed: ${errorMessage(err)}`);
    }
    this.finish(final?.state ?? "UNKNOWN", final);
  }

  private finish(state: JobState, final?: FinalJobStatus): void {
    if (this.phaseNow.name === "ended") return;
    this.clock.stop();
    const end: AllocationEnd = { why: endWords(state, this.releasing), state, at: Date.now(), final };
    for (const [id, resolve] of this.saves) resolve(this.unsaved(id, `allocation ${this.jobId} ended first`));
    this.saves.clear();
    this.setPhase({ name: "ended", end });
  }

  // ------------------------------------------------------------------ the daemon's events

  private busy(): boolean {
    const p = this.phaseNow.name;
    return (
      p === "starting" ||
      this.saves.size > 0 ||
      [...this.daemon.cells.values()].some((c) => c === "queued" || c === "running")
    );
  }

  private async followEvents(): Promise<void> {
    while (!this.closed) {
      let more = false;
      try {
        const read = await this.tail.read();
        more = read.more;
        if (read.data.lines.length) this.deliver(read.data.lines.toString("utf8"));
        for (const s of read.data.skipped)
          this.ctx.log(`allocation ${this.jobId}: an event line of ${s.bytes} bytes was passed over`);
        this.trouble(undefined);
      } catch (err) {
        this.trouble(`cannot read allocation ${this.jobId}'s events (${errorMessage(err)}), retrying`);
      }
      if (more) continue; // the file has more: read it before waiting
      this.replaying = false;
      if (this.phaseNow.name === "ended") break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.busy() ? POLL_BUSY_MS : POLL_IDLE_MS);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
    }
    this.stopWatchingDir?.();
  }

  private trouble(message: string | undefined): void {
    if (message === this.troubleNow) return;
    this.troubleNow = message;
    this.tell({ type: "trouble", message });
  }

  private deliver(text: string): void {
    const { events, bad } = parseAllocationEvents(text);
    for (const b of bad) this.ctx.log(`allocation ${this.jobId}: ${b}`);
    for (const ev of events) this.onEvent(ev);
  }

  private onEvent(ev: Parameters<DaemonState["apply"]>[0]): void {
    const change = this.daemon.apply(ev);
    switch (change.kind) {
      case "worker":
        if (this.live)
          this.setPhase({
            name: "ready",
            since: ev.time * 1000,
            status: this.statusNow,
            generation: change.event.generation,
          });
        if (!this.replaying) this.tell({ type: "worker", event: change.event, restarted: change.restarted });
        return;
      case "cell":
        return this.tell({ type: "phase", phase: this.phaseNow });
      case "died":
        return this.tell(
          this.replaying ? { type: "phase", phase: this.phaseNow } : { type: "died", event: change.event },
        );
      case "saved": {
        const waiter = this.saves.get(change.event.id);
        this.saves.delete(change.event.id);
        waiter?.(change.event);
        if (!this.replaying) this.tell({ type: "saved", event: change.event });
        return;
      }
      case "exit":
        // Released: the holder ends with its daemon. Otherwise Slurm ended it: sacct says how.
        this.releasing ||= change.released;
        if (this.releasing) return this.finish("COMPLETED");
        this.ctx.scheduler.watch(
          this.jobId,
          () => {},
          () => {},
        )(); // a watch hurries the next squeue
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------------------ requests

  private async request(req: AllocationRequest): Promise<void> {
    const name = requestFileName(req.kind, ++this.counter);
    await this.ctx.transport.writeFile(join(this.paths.requests, name), JSON.stringify(req), 0o600);
    this.wake?.();
  }

  /** Hands a cell to the daemon (it runs once the allocation's Python is ready). */
  async runCell(req: Extract<AllocationRequest, { kind: "cell" }>): Promise<void> {
    this.daemon.cells.set(req.seq, "queued");
    await this.request(req);
  }

  async interruptCell(seq: number): Promise<void> {
    await this.request({ kind: "interrupt", seq });
  }

  async cancelCell(seq: number, graceSeconds: number): Promise<void> {
    await this.request({ kind: "cancel", seq, grace: graceSeconds });
  }

  private unsaved(id: string, error: string): SavedEvent {
    return { type: "saved", time: Date.now() / 1000, id, reason: "", error };
  }

  /** Saves the namespace (when anything changed since the last save); resolves with the daemon's report. */
  save(reason: string): Promise<SavedEvent> {
    if (!this.live) return Promise.resolve(this.unsaved("", `allocation ${this.jobId} has ended`));
    const id = `save${Date.now()}${++this.counter}`;
    const done = new Promise<SavedEvent>((resolve) => this.saves.set(id, resolve));
    this.request({ kind: "save", id, reason, if_dirty: true }).catch((err: unknown) => {
      this.saves.get(id)?.(this.unsaved(id, `could not ask for it: ${errorMessage(err)}`));
      this.saves.delete(id);
    });
    return done;
  }

  /** A kernel restart: the allocation's Python starts over with an empty namespace. */
  async reset(): Promise<void> {
    if (this.phaseNow.name === "ready" || this.phaseNow.name === "starting")
      await this.request({ kind: "reset" });
  }

  /**
   * Ends the allocation: its daemon saves the namespace first (`save`), then exits; a holder still
   * queued, or a daemon that does not answer, is cancelled.
   */
  async release(save: boolean, answerMs = 20_000): Promise<AllocationEnd> {
    this.releasing = true;
    const ended = new Promise<AllocationEnd>((resolve) => {
      if (this.phaseNow.name === "ended") return resolve(this.phaseNow.end);
      const off = this.on((n) => {
        if (n.type === "phase" && n.phase.name === "ended") {
          off();
          resolve(n.phase.end);
        }
      });
    });
    if (this.phaseNow.name === "queued") await this.ctx.scheduler.cancel(this.jobId);
    else if (this.phaseNow.name !== "ended") {
      await this.request({ kind: "release", save });
      // A daemon that has not even said it is ending in time is not coming back: cancel the job.
      const answered = await Promise.race([
        ended.then(() => true),
        new Promise<boolean>((r) =>
          setTimeout(() => r(this.saves.size > 0 || this.phaseNow.name === "ended"), answerMs).unref(),
        ),
      ]);
      if (!answered && this.live) await this.ctx.scheduler.cancel(this.jobId);
    }
    return ended;
  }

  /** A completion or inspection asked of the live Python; undefined when it did not answer in time. */
  async ask(
    req: Extract<AllocationRequest, { kind: "complete" | "inspect" }>,
    timeoutMs: number,
  ): Promise<Record<string, unknown> | undefined> {
    if (this.phaseNow.name !== "ready") return undefined;
    const path = join(this.paths.replies, `${req.id}.json`);
    await this.request(req);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const buf = await this.ctx.transport.readFrom(path, 0).catch(() => null);
      if (buf && buf.length) {
        void this.ctx.transport.remove(path).catch(() => {});
        return parseReply(buf.toString("utf8"));
      }
      await new Promise((r) => setTimeout(r, REPLY_POLL_MS));
    }
    void this.ctx.transport.remove(path).catch(() => {});
    return undefined;
  }

  /** The last lines the holder job wrote to its stderr (why it ended before its Python was ready). */
  async stderrTail(lines = 15): Promise<string> {
    const st = await this.ctx.transport.stat(this.paths.stderr).catch(() => null);
    if (!st?.size) return "";
    const from = Math.max(0, st.size - 8192);
    const buf = await this.ctx.transport.readFrom(this.paths.stderr, from, st.size - from).catch(() => null);
    return buf ? buf.toString("utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";
  }

  /** No more following (the server is stopping); the allocation itself goes on. */
  close(): void {
    this.closed = true;
    this.clock.stop();
    this.stopWatching();
    this.wake?.();
  }
}
