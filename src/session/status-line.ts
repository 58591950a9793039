/**
 * A cell's status line in the notebook: a subscriber of the cell. Shown once the cell is queued,
 * then updated in place as it moves, with its waiting/running clock ticking locally (no cluster
 * command for that), the cluster's troubles ("scheduler not answering") shown while they last.
 */
import type { Cell } from "../cells/cell";
import type { CellEnd, CellPhase } from "../cells/cell-types";
import type { PartsSummary } from "../jobs/backend";
import type { ClusterHealth } from "../jobs/cluster-health";
import { endErrorName } from "./cell-output";
import { namespaceNote, statusBundle, type Phase, type StatusView } from "./status-display";

export type DisplayPublisher = (
  type: "display_data" | "update_display_data",
  data: Record<string, string>,
  displayId: string,
) => void;

export interface StatusLineOptions {
  displayId: string;
  /** Already on screen (a cell followed again after a server restart): only updated, never shown anew. */
  shown: boolean;
  partition?: string;
  /** A detached cell's output, shown under its final line. */
  collected?: (jobId: string) => { html: string; text: string };
  /** A note under the line, from the moment the cell has a job (where the session's cells run). */
  note?: (cell: Cell) => string | undefined;
  /** Nothing while the cell runs; at its end, a line only if its use of the namespace is worth a
   *  word (local attached cells: over too fast for a line of their own). */
  quiet?: boolean;
  /** Lines shown under the status for the cell's whole life (see StatusView.notes). */
  notes?: string[];
  /** For a cell inside a held allocation: which, on what node, until when (read at each render). */
  allocation?: () => StatusView["allocation"];
}

const TICK_MS = 5000;
const OUTPUT_TROUBLE = "cannot read the job's output right now, retrying";

type LivePhase = Extract<CellPhase, { name: "queued" | "running" }>;

function displayPhase(p: LivePhase): Phase {
  if (p.name === "queued") return { kind: "queued", status: p.status, since: p.since };
  const s = p.status;
  return { kind: "running", node: p.node, cpus: s?.cpus, memory: s?.memory, gpus: s?.gpus, since: p.since };
}

function donePhase(end: CellEnd, detached: boolean, namespace: string | undefined): Phase {
  const o = end.outcome;
  const ok = o.kind === "completed";
  const detail = ok ? undefined : `ended with ${endErrorName(end)}`;
  if (detached) return { kind: "detached-done", ok, seconds: end.seconds, detail, namespace };
  return { kind: "done", ok, seconds: end.seconds, maxRss: ok ? o.maxRss : undefined, detail, namespace };
}

export class StatusLine {
  readonly displayId: string;
  private readonly view: StatusView;
  private shown: boolean;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastHtml: string | undefined;
  private extra = { html: "", text: "" };
  /** What the cell did with the namespace, when it is worth saying. */
  private namespace: string | undefined;
  /** Submission had to wait for the scheduler (and said so on this line). */
  private waited = false;
  /** The note that waits for the job (where the cells run) was asked for. */
  private noted = false;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly publish: DisplayPublisher,
    private readonly cell: Cell,
    health: ClusterHealth,
    private readonly options: StatusLineOptions,
  ) {
    this.displayId = options.displayId;
    this.shown = options.shown;
    this.view = { partition: options.partition, detached: cell.info.detached, phase: { kind: "submitting" } };
    const { billing, limitSeconds } = cell.info.requested;
    if (billing !== undefined) this.view.billing = { rate: billing, limitSeconds };
    if (options.notes?.length) this.view.notes = options.notes;
    if (cell.info.after?.length) this.view.after = cell.info.after.map((d) => d.label);
    this.unsubscribe = [
      cell.on((ev) => {
        if (ev.type === "phase") this.onPhase(ev.phase);
        else if (ev.type === "trouble") this.trouble(OUTPUT_TROUBLE);
        else if (ev.type === "namespace") this.namespace = namespaceNote(ev.use);
        else if (ev.type === "hint") this.hint(ev.hint?.text);
        else if (ev.type === "parts") this.onParts(ev.summary);
      }),
      health.onChange((message) => this.trouble(message)),
    ];
  }

  private onPhase(p: CellPhase): void {
    if (p.name === "ended") return this.finish(p.end);
    // Before a job exists, a line only while submission waits for the scheduler.
    if (p.name === "submitting") {
      if (p.waiting || this.waited) this.set({ kind: "submitting", waiting: p.waiting });
      this.waited ||= Boolean(p.waiting);
      return;
    }
    if (p.name !== "queued" && p.name !== "running") return;
    this.view.jobId = p.jobId;
    if (!this.noted) {
      this.noted = true;
      const note = this.options.note?.(this.cell);
      if (note) this.view.notes = [...(this.view.notes ?? []), note];
    }
    if (p.name !== "queued") this.view.hint = undefined;
    this.view.array ??= Boolean(this.cell.submittedJob?.array);
    if (!this.timer) {
      this.timer = setInterval(() => this.render(), TICK_MS);
      this.timer.unref();
    }
    this.set(displayPhase(p));
  }

  private hint(text: string | undefined): void {
    if (this.view.hint === text) return;
    this.view.hint = text;
    this.render();
  }

  /** Tasks moved: the counts change in place (at most once per squeue tick). */
  private onParts(summary: PartsSummary): void {
    this.view.parts = summary;
    if (this.view.jobId && !this.stopped) this.render();
  }

  private trouble(message: string | undefined): void {
    if (this.view.trouble === message) return;
    this.view.trouble = message;
    this.render();
  }

  private finish(end: CellEnd): void {
    this.stop();
    if (end.outcome.kind === "parts") this.view.parts = end.outcome.summary;
    // A cell that never got a job showed a line only if its submission had to wait.
    if (!this.view.jobId) {
      if (this.waited) this.set({ kind: "done", ok: false, seconds: 0, detail: "was not submitted" });
      return;
    }
    this.view.trouble = undefined;
    if (this.options.collected) this.extra = this.options.collected(this.view.jobId);
    if (this.options.quiet && !this.namespace) return;
    this.set(donePhase(end, this.cell.info.detached, this.namespace));
  }

  private set(phase: Phase): void {
    this.view.phase = phase;
    this.render();
  }

  private render(): void {
    if (this.options.allocation) this.view.allocation = this.options.allocation();
    if (this.options.quiet && this.view.phase.kind !== "done" && this.view.phase.kind !== "detached-done")
      return;
    const data = statusBundle(this.view, this.extra.html, this.extra.text);
    // An array's tasks report on every squeue tick and every task's end: only news is sent.
    const text = data["text/html"] ?? "";
    if (this.shown && text === this.lastHtml) return;
    this.lastHtml = text;
    this.publish(this.shown ? "update_display_data" : "display_data", data, this.displayId);
    this.shown = true;
  }

  /** No more updates (the cell ended, or its kernel went away). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
