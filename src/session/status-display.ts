/**
 * The status line of a queued or running cell, updated in place (display_data, then
 * update_display_data with the same display_id): queued → running → completed (or the failure).
 */
import { randomUUID } from "node:crypto";
import type { PartsSummary } from "../jobs/backend";
import type { JobStatus } from "../jobs/scheduler";
import { formatDuration } from "../jobs/slurm/slurm-time";
import { escapeHtml } from "./html";
import { dependencyReason, failedStates, partsCounts, ranksLine } from "./status-parts";

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
  /** "scheduler not answering, retrying", "connection lost, reconnecting", ... */
  trouble?: string;
  detached?: boolean;
  /** A line of its own under the status (the session's first cell: where its cells run). */
  note?: string;
  /** An array cell: "array 4521", and where its tasks are. */
  array?: boolean;
  /** Its tasks (array), or its other ranks once rank 0 ended (srun). */
  parts?: PartsSummary;
  /** What it waits for (`--after`), as the user knows it: "cell 12 (job 4519)". */
  after?: string[];
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
  const job = `${v.array ? "array" : "job"}${v.jobId ? ` ${v.jobId}` : ""}`;
  const tasks = v.array && v.parts ? v.parts : undefined;
  let line: string;
  const p = v.phase;
  switch (p.kind) {
    case "submitting":
      line = "⏳ submitting…";
      break;
    case "queued": {
      const reason =
        dependencyReason(p.status?.reason, v.after) ??
        (p.status?.reason && p.status.reason !== "None" ? p.status.reason : "waiting for the scheduler");
      const est = clock(p.status?.startTime);
      const where = `on ${p.status?.partition ?? v.partition ?? "the default partition"}`;
      line = tasks
        ? `⏳ ${job}: ${partsCounts(tasks, true)} — ${where}, ${reason}, waiting ${since(p.since)}`
        : `⏳ queued as ${job} ${where} — ${reason}, waiting ${since(p.since)}`;
      if (est) line += `, est. start ${est}`;
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
      line = tasks
        ? `▶ ${job}: ${partsCounts(tasks, true)} — for ${since(p.since)}`
        : `▶ ${job} running${p.node ? ` on ${p.node}` : ""}${res ? ` (${res})` : ""} for ${since(p.since)}`;
      if (v.parts?.unit === "rank") line += ranksLine(v.parts);
      break;
    }
    case "done":
      if (tasks) {
        line = p.ok
          ? `✔ ${job}: all ${tasks.total} tasks completed in ${shortDuration(p.seconds)}`
          : `✖ ${job}: ${partsCounts(tasks, false)}${failedStates(tasks)} — ${p.detail ?? "failed"} after ${shortDuration(p.seconds)}`;
        break;
      }
      line = p.ok
        ? `✔ ${job} completed in ${shortDuration(p.seconds)}${p.maxRss ? ` · MaxRSS ${p.maxRss}` : ""}`
        : `✖ ${job} ${p.detail ?? "failed"} after ${shortDuration(p.seconds)}`;
      break;
    case "detached-done":
      line = p.ok
        ? `✔ detached ${job} completed${p.seconds !== undefined ? ` in ${shortDuration(p.seconds)}` : ""}`
        : `✖ detached ${job} ${p.detail ?? "failed"}`;
      if (tasks) line += `: ${partsCounts(tasks, false)}${failedStates(tasks)}`;
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
  const plain = [text, v.note, extraText].filter(Boolean).join("\n");
  const note = v.note
    ? `<div class="alpine-kernel-note" style="font-family:monospace;color:#546e7a">${escapeHtml(v.note)}</div>`
    : "";
  return {
    "text/plain": plain,
    "text/html": `<div class="alpine-kernel-status" style="font-family:monospace;color:${color}">${escapeHtml(text)}</div>${note}${extraHtml}`,
  };
}

export function newDisplayId(): string {
  return `alpine-kernel-status-${randomUUID()}`;
}
