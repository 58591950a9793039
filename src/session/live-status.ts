/**
 * A cell's status line in the notebook: shown once, then updated in place as the job moves through
 * the queue, with its waiting/running clock ticking locally (no cluster command for that).
 */
import type { JobStatus } from "../jobs/scheduler";
import { newDisplayId, startFromElapsed, statusBundle, type Phase, type StatusView } from "./status-display";

export type DisplayPublisher = (
  type: "display_data" | "update_display_data",
  data: Record<string, string>,
  displayId: string,
) => void;

const TICK_MS = 5000;

export class LiveStatus {
  readonly displayId: string;
  private readonly view: StatusView;
  private shown: boolean;
  private timer: NodeJS.Timeout | undefined;
  private extra = { html: "", text: "" };
  private runningSince: number | undefined;

  constructor(
    private readonly publish: DisplayPublisher,
    init: {
      jobId?: string;
      partition?: string;
      detached?: boolean;
      /** Resume a line already on screen. */ displayId?: string;
    },
  ) {
    this.view = {
      jobId: init.jobId,
      partition: init.partition,
      detached: init.detached,
      phase: { kind: "submitting" },
    };
    this.displayId = init.displayId ?? newDisplayId();
    this.shown = init.displayId !== undefined;
  }

  get jobId(): string | undefined {
    return this.view.jobId;
  }

  /** Submitted: "queued as job N" at once, before the first squeue. */
  submitted(jobId: string): void {
    this.view.jobId = jobId;
    this.set({ kind: "queued", since: Date.now() });
    this.timer = setInterval(() => this.render(), TICK_MS);
    this.timer.unref();
  }

  /** A status from the watcher. */
  status(s: JobStatus): void {
    const p = this.view.phase;
    if (s.state === "PENDING" || s.state === "CONFIGURING" || s.state === "REQUEUED") {
      this.set({ kind: "queued", status: s, since: p.kind === "queued" ? p.since : Date.now() });
    } else if (s.state === "RUNNING" || s.state === "COMPLETING") {
      this.runningSince ??= startFromElapsed(s.elapsed) ?? Date.now();
      this.set({
        kind: "running",
        node: s.node,
        cpus: s.cpus,
        memory: s.memory,
        gpus: s.gpus,
        since: this.runningSince,
      });
    }
  }

  /** The runner said it started (from the events file: sooner than squeue would). */
  started(host: string, atMs: number): void {
    this.runningSince = atMs;
    const p = this.view.phase;
    if (p.kind === "running") this.set({ ...p, node: p.node ?? host, since: atMs });
    else this.set({ kind: "running", node: host, since: atMs });
  }

  trouble(message: string | undefined): void {
    if (this.view.trouble === message) return;
    this.view.trouble = message;
    this.render();
  }

  /** Final line (and, for detached cells, the output under it). */
  finish(
    phase: Extract<Phase, { kind: "done" | "detached-done" }>,
    extra?: { html: string; text: string },
  ): void {
    // A detached cell's line ends once, with its output under it (see followDetached).
    if (this.view.detached && phase.kind === "done") return;
    clearInterval(this.timer);
    this.view.trouble = undefined;
    if (extra) this.extra = extra;
    this.set(phase);
  }

  get elapsedSeconds(): number {
    return this.runningSince ? (Date.now() - this.runningSince) / 1000 : 0;
  }

  private set(phase: Phase): void {
    this.view.phase = phase;
    this.render();
  }

  private render(): void {
    const data = statusBundle(this.view, this.extra.html, this.extra.text);
    this.publish(this.shown ? "update_display_data" : "display_data", data, this.displayId);
    this.shown = true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
