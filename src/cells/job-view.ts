/**
 * One cell job as every view of the queue shows it (`JobView`): its record in the cell book,
 * overlaid with what its live `Cell` knows now (phase, the scheduler's last word). Pure.
 */
import type { JobStatus } from "../jobs/scheduler";
import { pendingReasonText } from "../jobs/slurm/pending-reasons";
import { parseSlurmDuration, parseTimeOption } from "../jobs/slurm/slurm-time";
import type { JobEndView, JobOutcome, JobView } from "../protocol/jobs-feed";
import type { Cell } from "./cell";
import type { CellRecord } from "./cell-book";

/** "4 CPUs, 16G, 1 GPU": the allocation (or the waiting job's request) as squeue says it. */
export function allocationText(s: JobStatus | undefined): string | undefined {
  if (!s) return undefined;
  const parts = [
    s.cpus ? `${s.cpus} CPU${s.cpus > 1 ? "s" : ""}` : "",
    s.memory ?? "",
    s.gpus ? `${s.gpus} GPU${s.gpus > 1 ? "s" : ""}` : "",
  ];
  return parts.filter(Boolean).join(", ") || undefined;
}

/** The allocation when squeue said it, else what the cell asked for. */
function resourcesText(s: JobStatus | undefined, rec: CellRecord): string | undefined {
  return allocationText(s) ?? rec.resources ?? (rec.requested.mem ? `--mem ${rec.requested.mem}` : undefined);
}

function limitSeconds(s: JobStatus | undefined, rec: CellRecord): number | undefined {
  try {
    const fromSqueue = s?.timeLimit ? parseSlurmDuration(s.timeLimit) : null;
    if (fromSqueue !== null) return fromSqueue;
    return rec.requested.time ? (parseTimeOption(rec.requested.time) ?? undefined) : undefined;
  } catch {
    return undefined; // a spelling we cannot read: no limit shown rather than a wrong one
  }
}

/** Records written before outcomes were kept: COMPLETED, or FAILED (the cell raised), or the job's end. */
function legacyOutcome(rec: CellRecord): JobOutcome {
  if (rec.state === "COMPLETED") return "completed";
  return rec.state === "FAILED" ? "raised" : "died";
}

function endView(rec: CellRecord): JobEndView {
  const seconds = rec.seconds ?? (rec.elapsed ? (parseSlurmDuration(rec.elapsed) ?? undefined) : undefined);
  return strip({
    outcome: rec.outcome ?? legacyOutcome(rec),
    errorName: rec.errorName,
    message: rec.endMessage,
    exitCode: rec.exitCode,
    maxRss: rec.maxRss,
    seconds,
  });
}

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The first line of a cell's code worth showing (not blank), at most `max` characters. */
export function firstCodeLine(code: string, max = 80): string {
  const line = code.split("\n").find((l) => l.trim() !== "") ?? "";
  const t = line.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * The view of one cell job. `live` is its Cell while it is in flight in this server;
 * `notebookPath` what the notebook's frontend said its path is, when the record does not know.
 */
export function jobView(rec: CellRecord, live?: Cell, notebookPath?: string): JobView {
  const notebook = rec.notebookKey.split("/").pop() || rec.notebookKey;
  const base: JobView = {
    id: rec.id,
    jobId: rec.jobId,
    notebook,
    notebookPath: rec.notebookPath ?? notebookPath,
    notebookKey: rec.notebookKey,
    kernelId: rec.sessionId,
    run: rec.run ?? 1,
    executionCount: rec.executionCount,
    seq: rec.seq,
    cellId: rec.cellId,
    firstLine: rec.firstLine ?? "",
    detached: rec.detached,
    phase: "queued",
    state: rec.state,
    partition: rec.partition,
    submittedAt: Date.parse(rec.submitted),
    node: rec.node,
    billing: rec.billing,
  };
  const p = live?.phase;
  if (!p || p.name === "planned" || p.name === "submitting" || p.name === "ended") {
    if (!rec.ended) return strip({ ...base, resources: resourcesText(undefined, rec) });
    const end = endView(rec);
    const endedAt = Date.parse(rec.ended);
    return strip({
      ...base,
      phase: "ended",
      resources: resourcesText(undefined, rec),
      timeLimitSeconds: limitSeconds(undefined, rec),
      endedAt,
      startedAt: end.seconds ? endedAt - end.seconds * 1000 : undefined,
      serviceUnits:
        rec.billing !== undefined && end.seconds !== undefined
          ? Math.round(((rec.billing * end.seconds) / 3600) * 100) / 100
          : undefined,
      end,
    });
  }
  const s = p.name === "queued" || p.name === "running" ? p.status : undefined;
  const view: JobView = {
    ...base,
    phase: p.name,
    state: s?.state ?? (p.name === "queued" ? "PENDING" : "RUNNING"),
    partition: s?.partition ?? rec.partition,
    resources: resourcesText(s, rec),
    timeLimitSeconds: limitSeconds(s, rec),
    billing: s?.billing ?? rec.billing,
  };
  if (p.name === "queued") {
    view.queuedAt = p.since;
    view.reason = s?.reason ?? "None";
    view.reasonText = pendingReasonText(view.reason);
    if (s?.startTime) view.estimatedStart = s.startTime;
  } else if (p.name === "running") {
    view.startedAt = p.since;
    view.node = p.node ?? s?.node;
  }
  return strip(view);
}
