/**
 * The vocabulary of a held allocation: what never changes about it, its phases, how it ended, and
 * what its subscribers hear.
 */
import type { DirWatcher } from "../job-follower";
import type { Transport } from "../../cluster/transport";
import type { SbatchPair } from "../job-script";
import type { FinalJobStatus, JobState, JobStatus, Scheduler } from "../scheduler";
import type { AllocationEvent } from "./allocation-protocol";

/** What never changes about an allocation. */
export interface AllocationInfo {
  /** `<session id>/<n>` */
  id: string;
  sessionId: string;
  notebookKey: string;
  notebook: string;
  /** Per session, from 1: names its directory. */
  n: number;
  jobId: string;
  /** The session directory, absolute on the cluster. */
  sessionDir: string;
  /** Where its cells' process starts, absolute on the cluster. */
  workDir: string;
  /** The options it was asked with (defaults merged with `%slurm allocate`'s). */
  sbatch: SbatchPair[];
  submitted: number;
  /** The resource profile that made it (`profiles.NAME.allocate: true`). */
  profile?: string;
}

/** How an allocation ended, in words for the notebook and in Slurm's. */
export interface AllocationEnd {
  why: string;
  state: JobState;
  at: number;
  final?: FinalJobStatus;
}

export type AllocationPhase =
  | { name: "queued"; since: number; status?: JobStatus }
  /** The holder runs; its Python is not ready yet. */
  | { name: "starting"; since: number; status?: JobStatus }
  | { name: "ready"; since: number; status?: JobStatus; generation: number }
  | { name: "ended"; end: AllocationEnd };

export type DiedEvent = Extract<AllocationEvent, { type: "died" }>;
export type SavedEvent = Extract<AllocationEvent, { type: "saved" }>;
export type WorkerEvent = Extract<AllocationEvent, { type: "worker" }>;

/** What subscribers hear (status lines, the session's notices, the cell book's record). */
export type AllocationNews =
  | { type: "phase"; phase: AllocationPhase }
  | { type: "worker"; event: WorkerEvent; restarted: boolean }
  | { type: "died"; event: DiedEvent }
  | { type: "saved"; event: SavedEvent }
  /** The time limit is near (`warn_ahead_seconds`). */
  | { type: "ending-soon"; endsAt: number }
  | { type: "trouble"; message: string | undefined };

export interface AllocationContext {
  transport: Transport;
  scheduler: Scheduler;
  watchDir?: DirWatcher;
  saveAheadSeconds: number;
  warnAheadSeconds: number;
  log(message: string): void;
}

export type CellState = "queued" | "running" | "done" | "died" | "withdrawn";

export function endWords(state: JobState, released: boolean): string {
  if (released) return "released";
  switch (state) {
    case "TIMEOUT":
      return "it reached its time limit";
    case "CANCELLED":
      return "it was cancelled";
    case "NODE_FAIL":
      return "its node failed";
    case "PREEMPTED":
      return "it was preempted";
    case "OUT_OF_MEMORY":
      return "it ran out of memory";
    case "COMPLETED":
      return "its daemon exited";
    default:
      return `it ended (${state})`;
  }
}
