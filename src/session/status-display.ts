/**
 * The status line of a queued or running cell, updated in place (display_data, then
 * update_display_data with the same display_id): queued → running → completed (or the failure).
 */
import { randomUUID } from "node:crypto";
import type { JobStatus } from "../jobs/scheduler";
import { formatServiceUnits, serviceUnits } from "../jobs/slurm/billing";
import type { PythonInfo } from "../jobs/python-check";
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
  /** "scheduler not answering, retrying", "connection lost, reconnecting", ... */
  trouble?: string;
  detached?: boolean;
  /** The job's billing TRES (SUs per hour) and time limit: its service units, estimated then used. */
  billing?: { rate: number; limitSeconds?: number };
  /** Lines under the status (the first cell of a session: which Python runs the cells). */
  notes?: string[];
}

/** "est. ≤ 18.2 SU (109/h)": the most a job can cost, its time limit at its billing rate. */
export function estimateText(b: { rate: number; limitSeconds?: number }): string {
  return b.limitSeconds !== undefined
    ? `est. ≤ ${formatServiceUnits(serviceUnits(b.rate, b.limitSeconds))} (${b.rate}/h)`
    : `${b.rate} SU/h`;
}

/** "cells run Python 3.11.2 · /path/bin/python (conda env alpine-kernel)": the first status line's Python part. */
export function pythonNote(info: PythonInfo, source: string): string {
  return `cells run Python ${info.version} · ${info.path} (${source})`;
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
      if (v.billing) line += ` · ${estimateText(v.billing)}`;
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
      if (v.billing) line += ` · ${estimateText(v.billing)}`;
      break;
    }
    case "done":
      line = p.ok
        ? `✔ ${job} completed in ${shortDuration(p.seconds)}${p.maxRss ? ` · MaxRSS ${p.maxRss}` : ""}`
        : `✖ ${job} ${p.detail ?? "failed"} after ${shortDuration(p.seconds)}`;
      // What it used: its billing rate over the time it ran (sacct bills the same way).
      if (v.billing) line += ` · ${formatServiceUnits(serviceUnits(v.billing.rate, p.seconds))}`;
      break;
    case "detached-done":
      line = p.ok
        ? `✔ detached ${job} completed${p.seconds !== undefined ? ` in ${shortDuration(p.seconds)}` : ""}`
        : `✖ detached ${job} ${p.detail ?? "failed"}`;
      if (v.billing && p.seconds !== undefined)
        line += ` · ${formatServiceUnits(serviceUnits(v.billing.rate, p.seconds))}`;
      break;
  }
  if (v.detached && p.kind !== "detached-done")
    line += " · detached: the notebook stays free; output appears here when it ends";
  return v.trouble ? `${line} — ${v.trouble}` : line;
}

export function statusBundle(v: StatusView, extraHtml = "", extraText = ""): Record<string, string> {
  const text = statusText(v);
  const notes = v.notes ?? [];
  const color =
    v.phase.kind === "done" || v.phase.kind === "detached-done"
      ? v.phase.ok
        ? "#1b5e20"
        : "#b71c1c"
      : "#37474f";
  return {
    "text/plain": [text, ...notes, ...(extraText ? [extraText] : [])].join("\n"),
    "text/html":
      `<div class="alpine-kernel-status" style="font-family:monospace;color:${color}">${escapeHtml(text)}</div>` +
      notesBundle(notes)["text/html"] +
      extraHtml,
  };
}

/** Notes on a line of their own (no status line to carry them). */
export function notesBundle(notes: string[]): Record<string, string> {
  return {
    "text/plain": notes.join("\n"),
    "text/html": notes
      .map(
        (n) =>
          `<div class="alpine-kernel-note" style="font-family:monospace;color:#546e7a">${escapeHtml(n)}</div>`,
      )
      .join(""),
  };
}

export function newDisplayId(): string {
  return `alpine-kernel-status-${randomUUID()}`;
}
