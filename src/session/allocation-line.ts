/**
 * An allocation's status line, under the `%slurm allocate` cell: queued → starting → ready on its
 * node with its resources and remaining time → ended (and why), updated in place as long as the
 * allocation lives; the warning before its time limit and its Python's restarts show in it.
 */
import type { Allocation, AllocationNews } from "../jobs/allocation/allocation";
import { escapeHtml } from "./html";
import { IN_FLIGHT_MARK, shortDuration, timeLeft } from "./status-display";

export interface AllocationDisplay {
  jobId: string;
  displayId: string;
}

const TICK_MS = 15_000;

function hm(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5);
}

/** " (2 CPUs, 4G, 1 GPU)" as squeue reports them, once the allocation runs. */
export function resourcesOf(a: Allocation): string {
  const s = a.status;
  const parts = [
    s?.cpus ? `${s.cpus} CPU${s.cpus > 1 ? "s" : ""}` : "",
    s?.memory ?? "",
    s?.gpus ? `${s.gpus} GPU${s.gpus > 1 ? "s" : ""}` : "",
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** The line's text, from what the allocation knows now. */
export function allocationText(a: Allocation, extra: { restarts: number; endingSoon: boolean }): string {
  const p = a.phase;
  const id = `allocation ${a.jobId}`;
  const save = a.lastSave;
  const saved =
    save?.saved !== undefined
      ? `namespace saved at ${hm(save.time * 1000)} (${save.saved} name${save.saved === 1 ? "" : "s"})`
      : "";
  switch (p.name) {
    case "queued": {
      const reason =
        p.status?.reason && p.status.reason !== "None" ? p.status.reason : "waiting for the scheduler";
      const est =
        p.status?.startTime && /T\d\d:\d\d/.test(p.status.startTime)
          ? `, est. start ${p.status.startTime.slice(11, 16)}`
          : "";
      const partition = p.status?.partition ?? a.shape().partition;
      return `${IN_FLIGHT_MARK} ${id} queued${partition ? ` on ${partition}` : ""} — ${reason}, waiting ${shortDuration((Date.now() - p.since) / 1000)}${est}`;
    }
    case "starting":
      return `${IN_FLIGHT_MARK} ${id} starting on ${a.node ?? "its node"}${resourcesOf(a)}: loading its Python…`;
    case "ready": {
      const left = timeLeft(a.endsAt);
      const until = a.endsAt ? ` (until ${hm(a.endsAt)})` : "";
      const parts = [
        `▶ ${id} on ${a.node ?? "its node"}${resourcesOf(a)}: cells run in it`,
        left ? `${left}${until}` : "",
        extra.restarts ? `Python restarted ${extra.restarts}×` : "",
        extra.endingSoon ? `ending soon${saved ? `; ${saved}` : ""}` : "",
      ];
      return parts.filter(Boolean).join(" · ");
    }
    case "ended": {
      const e = p.end;
      return [`■ ${id} ${e.why === "released" ? "released" : `ended: ${e.why}`} at ${hm(e.at)}`, saved]
        .filter(Boolean)
        .join(" · ");
    }
  }
}

export type LinePublisher = (
  type: "display_data" | "update_display_data",
  data: Record<string, string>,
  displayId: string,
) => void;

export class AllocationLine {
  private shown: boolean;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly off: () => void;
  private restarts = 0;
  private endingSoon = false;
  private last = "";
  private lastMilestone = "";

  /**
   * `ticking`: the remaining time is refreshed every few seconds. Off (`slurm.status_line: false`),
   * the line changes only at milestones (phase, restarts, ending soon): its updates go out while
   * other cells run, and strict clients count every message a cell brings.
   */
  constructor(
    private readonly publish: LinePublisher,
    readonly allocation: Allocation,
    readonly displayId: string,
    shown: boolean,
    private readonly ticking = true,
  ) {
    this.shown = shown;
    this.off = allocation.on((n) => this.onNews(n));
    if (ticking) {
      this.timer = setInterval(() => this.render(), TICK_MS);
      this.timer.unref();
    }
    this.render();
  }

  private get milestone(): string {
    return `${this.allocation.phase.name}|${this.restarts}|${this.endingSoon}`;
  }

  private onNews(n: AllocationNews): void {
    if (n.type === "worker" && n.restarted) this.restarts++;
    if (n.type === "ending-soon") this.endingSoon = true;
    if (n.type === "trouble") return;
    if (this.ticking || this.milestone !== this.lastMilestone) this.render(false);
    if (n.type === "phase" && n.phase.name === "ended") this.stop();
  }

  render(force = true): void {
    const text = allocationText(this.allocation, { restarts: this.restarts, endingSoon: this.endingSoon });
    if (!force && text === this.last) return;
    this.last = text;
    this.lastMilestone = this.milestone;
    const color = this.allocation.live ? "#37474f" : "#546e7a";
    this.publish(
      this.shown ? "update_display_data" : "display_data",
      {
        "text/plain": text,
        "text/html": `<div class="alpine-kernel-allocation" style="font-family:monospace;color:${color}">${escapeHtml(text)}</div>`,
      },
      this.displayId,
    );
    this.shown = true;
  }

  stop(): void {
    clearInterval(this.timer);
    this.off();
  }
}
