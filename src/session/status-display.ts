/**
 * The status line of a queued or running cell, updated in place (display_data, then
 * update_display_data with the same display_id): queued → running → completed (or the failure).
 */
import { randomUUID } from "node:crypto";
import type { JobStatus } from "../jobs/scheduler";
import { formatDuration } from "../jobs/slurm/slurm-time";
import { escapeHtml } from "./html";

export type Phase =
  | { kind: "submitting" }
  | { kind: "queued"; status?: JobStatus; since: number }
  | { kind: "running"; node?: string; cpus?: number; memory?: string; gpus?: number; since: number }
  | { kind: "done"; ok: boolean; seconds: number; maxRss?: string; detail?: string }
  | { kind: "detached-done"; ok: boolean; seconds?: number; detail?: string };

export interface StatusView {
  jobId?: string;
  partition?: string;
  phase: Phase;
  /** While queued: "`-t 0:30:00` would start now on acpu" (start-time hints). */
  hint?: string;
  /** "scheduler not answering, retrying", "connection lost, reconnecting", ... */
  trouble?: string;
  detached?: boolean;
}

function clock(iso: string | undefined): string | undefined {
  if (!iso || !/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso)) return undefined;
  const d = new Date(iso);
  const today = new Date();
  const hm = iso.slice(11, 16);
  return d.toDateString() === today.toDateString() ? hm : `${iso.slice(5, 10)} ${hm}`;
}

/** "0:06", "12:41", then Slurm's "1:02:03" and "2-01:00:00": short while it is short. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return formatDuration(s);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const since = (t: number) => shortDuration((Date.now() - t) / 1000);

/** One line of text, as the notebook shows it. */
export function statusText(v: StatusView): string {
  const job = v.jobId ? `job ${v.jobId}` : "job";
  let line: string;
  const p = v.phase;
  switch (p.kind) {
    case "submitting":
      line = "⏳ submitting…";
      break;
    case "queued": {
      const reason =
        p.status?.reason && p.status.reason !== "None" ? p.status.reason : "waiting for the scheduler";
      const est = clock(p.status?.startTime);
      line = `⏳ queued as ${job} on ${p.status?.partition ?? v.partition ?? "the default partition"} — ${reason}, waiting ${since(p.since)}${est ? `, est. start ${est}` : ""}`;
      if (v.hint) line += ` · hint: ${v.hint}`;
      break;
    }
    case "running": {
      const res = [
        p.cpus ? `${p.cpus} CPU${p.cpus > 1 ? "s" : ""}` : "",
        p.memory ?? "",
        p.gpus ? `${p.gpus} GPU${p.gpus > 1 ? "s" : ""}` : "",
      ]
        .filter(Boolean)
        .join(", ");
      line = `▶ ${job} running${p.node ? ` on ${p.node}` : ""}${res ? ` (${res})` : ""} for ${since(p.since)}`;
      break;
    }
    case "done":
      line = p.ok
        ? `✔ ${job} completed in ${shortDuration(p.seconds)}${p.maxRss ? ` · MaxRSS ${p.maxRss}` : ""}`
        : `✖ ${job} ${p.detail ?? "failed"} after ${shortDuration(p.seconds)}`;
      break;
    case "detached-done":
      line = p.ok
        ? `✔ detached ${job} completed${p.seconds !== undefined ? ` in ${shortDuration(p.seconds)}` : ""}`
        : `✖ detached ${job} ${p.detail ?? "failed"}`;
      break;
  }
  if (v.detached && p.kind !== "detached-done")
    line += " · detached: the notebook stays free; output appears here when it ends";
  return v.trouble ? `${line} — ${v.trouble}` : line;
}

export function statusBundle(v: StatusView, extraHtml = "", extraText = ""): Record<string, string> {
  const text = statusText(v);
  const color =
    v.phase.kind === "done" || v.phase.kind === "detached-done"
      ? v.phase.ok
        ? "#1b5e20"
        : "#b71c1c"
      : "#37474f";
  return {
    "text/plain": extraText ? `${text}\n${extraText}` : text,
    "text/html": `<div class="alpine-kernel-status" style="font-family:monospace;color:${color}">${escapeHtml(text)}</div>${extraHtml}`,
  };
}

export function newDisplayId(): string {
  return `alpine-kernel-status-${randomUUID()}`;
}
