/**
 * Whether a cell in an allocation is still alive, for its `JobFollower` (the `JobLiveness` of a
 * per-cell job is squeue; here it is the allocation's daemon and its holder job), and how it
 * ended when it did not write its end marker.
 */
import type { JobLiveness } from "../job-follower";
import type { FinalJobStatus, JobStatus, StatusListener } from "../scheduler";
import type { Allocation } from "./allocation";

function cellStatus(a: Allocation, seq: number, jobId: string): JobStatus {
  const s = a.status;
  const base = { jobId, partition: s?.partition, node: a.node, timeLimit: s?.timeLimit };
  const state = a.cellState(seq);
  if (a.phase.name === "queued") {
    const reason = s?.reason && s.reason !== "None" ? s.reason : "waiting for the scheduler";
    return {
      ...base,
      state: "PENDING",
      reason: `allocation ${a.jobId} queued: ${reason}`,
      startTime: s?.startTime,
    };
  }
  if (state !== "running" && state !== "done")
    return {
      ...base,
      state: "PENDING",
      reason:
        a.phase.name === "ready"
          ? `sent to allocation ${a.jobId}`
          : `allocation ${a.jobId} is starting its Python`,
    };
  return { ...base, state: "RUNNING", cpus: s?.cpus, memory: s?.memory, gpus: s?.gpus };
}

/** How the cell ended without its end marker: its Python died, it was withdrawn, or the allocation ended. */
export function cellFinal(a: Allocation, seq: number, jobId: string): FinalJobStatus {
  const death = a.deathOf(seq);
  if (death)
    return {
      jobId,
      state: death.oom ? "OUT_OF_MEMORY" : "FAILED",
      exitCode: death.exit_code ?? 0,
      signal: death.signal,
      node: a.node,
      ...(death.maxrss_kb ? { maxRss: `${Math.max(1, Math.round(death.maxrss_kb / 1024))}M` } : {}),
    };
  if (a.cellState(seq) === "withdrawn") return { jobId, state: "CANCELLED", exitCode: 0, signal: 0 };
  const p = a.phase;
  if (p.name === "ended" && p.end.final) return p.end.final;
  return {
    jobId: a.jobId,
    state: p.name === "ended" ? p.end.state : "UNKNOWN",
    exitCode: 0,
    signal: 0,
    unknown: true,
  };
}

export function cellLiveness(a: Allocation, seq: number): JobLiveness {
  return {
    watch: (jobId: string, onStatus: StatusListener, onGone: () => void) => {
      let gone = false;
      let last = "";
      const check = () => {
        if (gone) return;
        const state = a.cellState(seq);
        if (state === "died" || state === "withdrawn" || !a.live) {
          gone = true;
          off();
          onGone();
          return;
        }
        const status = cellStatus(a, seq, jobId);
        const key = JSON.stringify(status);
        if (key === last) return; // the allocation's news is often about something else
        last = key;
        onStatus(status);
      };
      const off = a.on(() => check());
      check();
      return () => off();
    },
    final: (jobId: string) => Promise.resolve(cellFinal(a, seq, jobId)),
  };
}
