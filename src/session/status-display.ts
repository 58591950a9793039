/**
 * The status line of a queued or running cell, updated in place (display_data, then
 * update_display_data with the same display_id): queued → running → completed (or the failure).
 */
import { randomUUID } from "node:crypto";
import type { NamespaceUse } from "../cells/cell-types";
import type { PartsSummary } from "../jobs/backend";
import type { JobStatus } from "../jobs/scheduler";
import { clockText } from "../protocol/jobs-feed";
import { formatServiceUnits, serviceUnits } from "../jobs/slurm/billing";
import type { PythonInfo } from "../jobs/python-check";
import { escapeHtml } from "./html";
import { dependencyReason, failedStates, partsCounts, ranksLine } from "./status-parts";

export type Phase =
  | { kind: "submitting"; waiting?: string }
  | { kind: "queued"; status?: JobStatus; since: number }
  | { kind: "running"; node?: string; cpus?: number; memory?: string; gpus?: number; since: number }
  | { kind: "done"; ok: boolean; seconds: number; maxRss?: string; detail?: string; namespace?: string }
  | { kind: "detached-done"; ok: boolean; seconds?: number; detail?: string; namespace?: string };

export interface StatusView {
  jobId?: string;
  partition?: string;
  phase: Phase;
  /** While queued: "`-t 0:30:00` would start now on acpu" (start-time hints). */
  hint?: string;
  /** "scheduler not answering, retrying", "connection lost, reconnecting", ... */
  trouble?: string;
  detached?: boolean;
  /** The job's billing TRES (SUs per hour) and time limit: its service units, estimated then used. */
  billing?: { rate: number; limitSeconds?: number };
  /** Lines under the status (the first cell of a session: which Python runs the cells). */
  notes?: string[];
  /** The cell runs inside a held allocation (`%slurm allocate`): which, where, until when. */
  allocation?: { jobId: string; node?: string; endsAt?: number };
  /** An array cell: "array 4521", and where its tasks are. */
  array?: boolean;
  /** Its tasks (array), or its other ranks once rank 0 ended (srun). */
  parts?: PartsSummary;
  /** What it waits for (`--after`), as the user knows it: "cell 12 (job 4519)". */
  after?: string[];
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

/** Durations as every view of the jobs says them ("0.4 s", "59 s", "1:05", "1:02:03"). */
export const shortDuration = clockText;

const since = (t: number) => shortDuration((Date.now() - t) / 1000);

/**
 * The mark before a line still in flight: U+2026, which every font has (the hourglass emoji was a
 * box where no emoji font is installed).
 */
export const IN_FLIGHT_MARK = "…";

/** A cell's duration in an allocation: hundredths of a second are what it is about. */
export function cellSeconds(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(2)} s`;
  return seconds < 60 ? `${Math.round(seconds)} s` : shortDuration(seconds);
}

/** "1:52:10 left" of an allocation's time (nothing before it runs). */
export function timeLeft(endsAt: number | undefined): string {
  return endsAt === undefined ? "" : `${shortDuration((endsAt - Date.now()) / 1000)} left`;
}

/** The line of a cell that runs inside a held allocation. */
function allocationCellText(v: StatusView, a: NonNullable<StatusView["allocation"]>): string {
  const p = v.phase;
  const where = `in allocation ${a.jobId}${a.node ? ` on ${a.node}` : ""}`;
  const left = timeLeft(a.endsAt);
  switch (p.kind) {
    case "submitting":
      return `${IN_FLIGHT_MARK} sending to the allocation`;
    case "queued":
      return `${IN_FLIGHT_MARK} waiting: ${p.status?.reason ?? `sending to allocation ${a.jobId}`}, for ${since(p.since)}`;
    case "running":
      return `▶ running ${where} for ${since(p.since)}${left ? ` · ${left}` : ""}`;
    case "done":
    case "detached-done":
      return p.ok
        ? `✔ ${where}, ${cellSeconds(p.seconds ?? 0)}${p.kind === "done" && p.maxRss ? ` · MaxRSS ${p.maxRss}` : ""}`
        : `✖ ${where}: ${p.detail ?? "failed"} after ${cellSeconds(p.seconds ?? 0)}`;
  }
}

/** One line of text, as the notebook shows it. */
export function statusText(v: StatusView): string {
  if (v.allocation) {
    const line = allocationCellText(v, v.allocation);
    return v.trouble ? `${line} — ${v.trouble}` : line;
  }
  const job = `${v.array ? "array" : "job"}${v.jobId ? ` ${v.jobId}` : ""}`;
  const tasks = v.array && v.parts ? v.parts : undefined;
  let line: string;
  const p = v.phase;
  switch (p.kind) {
    case "submitting":
      line = p.waiting ? `${IN_FLIGHT_MARK} submitting… ${p.waiting}` : `${IN_FLIGHT_MARK} submitting`;
      break;
    case "queued": {
      const reason =
        dependencyReason(p.status?.reason, v.after) ??
        (p.status?.reason && p.status.reason !== "None" ? p.status.reason : "waiting for the scheduler");
      const est = clock(p.status?.startTime);
      const where = `on ${p.status?.partition ?? v.partition ?? "the default partition"}`;
      line = tasks
        ? `${IN_FLIGHT_MARK} ${job}: ${partsCounts(tasks, true)} — ${where}, ${reason}, waiting ${since(p.since)}`
        : `${IN_FLIGHT_MARK} queued as ${job} ${where} — ${reason}, waiting ${since(p.since)}`;
      if (est) line += `, est. start ${est}`;
      if (v.billing) line += ` · ${estimateText(v.billing)}`;
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
      line = tasks
        ? `▶ ${job}: ${partsCounts(tasks, true)} — for ${since(p.since)}`
        : `▶ ${job} running${p.node ? ` on ${p.node}` : ""}${res ? ` (${res})` : ""} for ${since(p.since)}`;
      if (v.parts?.unit === "rank") line += ranksLine(v.parts);
      if (v.billing) line += ` · ${estimateText(v.billing)}`;
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
      // What it used: its billing rate over the time it ran (sacct bills the same way).
      if (v.billing) line += ` · ${formatServiceUnits(serviceUnits(v.billing.rate, p.seconds))}`;
      break;
    case "detached-done":
      line = p.ok
        ? `✔ detached ${job} completed${p.seconds !== undefined ? ` in ${shortDuration(p.seconds)}` : ""}`
        : `✖ detached ${job} ${p.detail ?? "failed"}`;
      if (v.billing && p.seconds !== undefined)
        line += ` · ${formatServiceUnits(serviceUnits(v.billing.rate, p.seconds))}`;
      if (tasks) line += `: ${partsCounts(tasks, false)}${failedStates(tasks)}`;
      break;
  }
  if ((p.kind === "done" || p.kind === "detached-done") && p.namespace) line += ` · ${p.namespace}`;
  if (v.detached && p.kind !== "detached-done")
    line += " · detached: the notebook stays free; output appears here when it ends";
  return v.trouble ? `${line} — ${v.trouble}` : line;
}

/** "1.2 GB", "100 MB", "512 B": binary units, three significant digits at most. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Below these a cell's use of the namespace is not worth a word on its status line. */
export const NAMESPACE_NOTE_BYTES = 64 * 1024 * 1024;
export const NAMESPACE_NOTE_SECONDS = 1;

/**
 * "namespace: loaded 2 of 14 names (1.2 GB read, 4.0 GB mapped) in 0.8 s; saved 1 (100 MB) in
 * 0.3 s" for a cell that moved a lot of data or took long doing it; undefined otherwise.
 */
export function namespaceNote(use: NamespaceUse): string | undefined {
  const bytes = use.loadedBytes + use.mappedBytes + use.writtenBytes;
  const seconds = use.loadSeconds + use.saveSeconds;
  if (bytes < NAMESPACE_NOTE_BYTES && seconds < NAMESPACE_NOTE_SECONDS) return undefined;
  const secs = (s: number) => (s < 0.1 ? "<0.1 s" : `${s < 10 ? s.toFixed(1) : Math.round(s)} s`);
  const parts: string[] = [];
  if (use.loaded > 0) {
    const sizes: string[] = [];
    if (use.loadedBytes > 0 || use.mappedBytes === 0) sizes.push(`${formatBytes(use.loadedBytes)} read`);
    if (use.mappedBytes > 0) sizes.push(`${formatBytes(use.mappedBytes)} mapped`);
    parts.push(
      `loaded ${use.loaded} of ${use.total} name${use.total === 1 ? "" : "s"} (${sizes.join(", ")}) in ${secs(use.loadSeconds)}`,
    );
  }
  if (use.written > 0)
    parts.push(`saved ${use.written} (${formatBytes(use.writtenBytes)}) in ${secs(use.saveSeconds)}`);
  return parts.length ? `namespace: ${parts.join("; ")}` : undefined;
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
