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
export function allocationText(
  s: Pick<JobStatus, "cpus" | "memory" | "gpus"> | undefined,
): string | undefined {
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
  return {
    outcome: rec.outcome ?? legacyOutcome(rec),
    errorName: rec.errorName,
    message: rec.endMessage,
    exitCode: rec.exitCode,
    maxRss: rec.maxRss,
    seconds,
  };
}

/** The first line of a cell's code worth showing (not blank), at most `max` characters. */
export function firstCodeLine(code: string, max = 80): string {
  const line = code.split("\n").find((l) => l.trim() !== "") ?? "";
  const t = line.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * The view of one cell job. Fields that are not known are undefined (JSON leaves them out: on the
 * wire they are absent). `live` is its Cell while it is in flight in this server;
 * `notebookPath` what the notebook's frontend said its path is, when the record does not know.
 */
export function jobView(rec: CellRecord, live?: Cell, notebookPath?: string): JobView {
  const p = live?.phase;
  const inFlight = p && (p.name === "queued" || p.name === "running" || p.name === "ending");
  const s = p && (p.name === "queued" || p.name === "running") ? p.status : undefined;
  const end = !inFlight && rec.ended ? endView(rec) : undefined;
  const endedAt = end && rec.ended ? Date.parse(rec.ended) : undefined;
  const queued = p?.name === "queued" ? p : undefined;
  const running = p?.name === "running" ? p : undefined;
  const reason = queued ? (s?.reason ?? "None") : undefined;
  const billing = s?.billing ?? rec.billing;
  // One object literal, every field in the same order: V8 keeps such objects fast (spreading one
  // view into another and overriding fields made each view ~30× slower to build and to serialise).
  return {
    id: rec.id,
    jobId: rec.jobId,
    notebook: rec.notebookKey.split("/").pop() || rec.notebookKey,
    notebookPath: rec.notebookPath ?? notebookPath,
    notebookKey: rec.notebookKey,
    kernelId: rec.sessionId,
    run: rec.run ?? 1,
    executionCount: rec.executionCount,
    seq: rec.seq,
    cellId: rec.cellId,
    firstLine: rec.firstLine ?? "",
    detached: rec.detached,
    phase: inFlight ? p.name : end ? "ended" : "queued",
    state: s?.state ?? (inFlight ? (p.name === "queued" ? "PENDING" : "RUNNING") : rec.state),
    reason,
    reasonText: reason === undefined ? undefined : pendingReasonText(reason),
    partition: s?.partition ?? rec.partition,
    resources: resourcesText(s, rec),
    timeLimitSeconds: limitSeconds(s, rec),
    submittedAt: Date.parse(rec.submitted),
    queuedAt: queued?.since,
    startedAt: running
      ? running.since
      : endedAt !== undefined && end?.seconds
        ? endedAt - end.seconds * 1000
        : undefined,
    endedAt,
    estimatedStart: queued ? s?.startTime : undefined,
    node: running ? (running.node ?? s?.node) : inFlight ? undefined : rec.node,
    billing,
    serviceUnits:
      end && billing !== undefined && end.seconds !== undefined
        ? Math.round(((billing * end.seconds) / 3600) * 100) / 100
        : undefined,
    end,
  };
}
