/**
 * Where an allocation's files are, inside its session directory (the cells' own files stay where
 * session-files.ts puts them, so `%slurm output` and a restarted server find them as for jobs):
 *
 *   <session dir>/allocations/3/holder.sh         the holder job's script
 *   <session dir>/allocations/3/holder.out/.err   its own stdout and stderr
 *   <session dir>/allocations/3/events.jsonl      what its daemon reports (allocation-protocol.ts)
 *   <session dir>/allocations/3/requests/         the server's requests, one file each
 *   <session dir>/allocations/3/replies/          answers to completion and inspection requests
 */
import { join } from "node:path";

export interface AllocationPaths {
  dir: string;
  script: string;
  stdout: string;
  stderr: string;
  events: string;
  requests: string;
  replies: string;
}

export function allocationPaths(sessionDir: string, n: number): AllocationPaths {
  const dir = join(sessionDir, "allocations", String(n));
  return {
    dir,
    script: join(dir, "holder.sh"),
    stdout: join(dir, "holder.out"),
    stderr: join(dir, "holder.err"),
    events: join(dir, "events.jsonl"),
    requests: join(dir, "requests"),
    replies: join(dir, "replies"),
  };
}

/** A request's file name: sortable by when it was written, also across server restarts. */
export function requestFileName(kind: string, counter: number, now = Date.now()): string {
  return `${String(now).padStart(14, "0")}-${String(counter).padStart(6, "0")}-${kind}.json`;
}

/** The id a cell in an allocation carries where a job id goes (status line, %squeue, records). */
export function cellJobId(holderJobId: string, seq: number): string {
  return `${holderJobId}.c${seq}`;
}
