/**
 * An execution backend runs one cell somewhere and tells what happened, through the file contract
 * of docs/cell-runner.md. Today's backends: a per-cell job script submitted to Slurm, or run by
 * bash on this machine (`BatchBackend` over a `Scheduler`). A process inside a held allocation or
 * an array task is a new implementation of this interface, not a new branch in the session.
 */
import type { JobFailure } from "./diagnose";
import type { EnvironmentSetup, SbatchPair } from "./job-script";
import type { RunnerError, RunnerEvent } from "./runner-events";
import type { FinalJobStatus, JobStatus, SubmitControl } from "./scheduler";
import type { StartHint } from "./slurm/start-hints";

/**
 * What a cell's job runs: the cell's Python once (`python`, the default), its Python on every
 * task of the allocation through srun (`srun`), or the cell itself as a bash job script (`bash`).
 */
export type CellRunMode = "python" | "srun" | "bash";

/** A job array's tasks, as submitted (`--array`). */
export interface ArrayRequest {
  /** sbatch's `--array` value: `0-99%10`, or the failed tasks of a rerun (`7,13`). */
  spec: string;
  /** The array this one reruns tasks of (the first array of the line), for `%slurm gather`. */
  rerunOf?: string;
  /** The namespace its tasks start from, when not the notebook's now (a rerun: the first run's). */
  namespaceFrom?: string;
}

/** `%slurm gather`: one name of each task's namespace, collected before the cell runs. */
export interface GatherRequest {
  array: string;
  name: string;
  into: string;
  tasks: { task: number; namespace: string; state: string }[];
}

/** Byte offsets already delivered, persisted so a restarted server resumes without repeats. */
export interface CellOffsets {
  events: number;
  stdout: number;
  stderr: number;
}

export const NO_OFFSETS: CellOffsets = Object.freeze({ events: 0, stdout: 0, stderr: 0 });

/** What a backend needs to run one cell. */
export interface CellJobSpec {
  sessionId: string;
  /** The session's directory as configured (`~`, `$USER` are the cluster's). */
  sessionDir: string;
  /** Notebook name, for the job's name in squeue. */
  notebook: string;
  /** Where the cell's process starts (a cluster path, ~ and $USER the cluster's; created if missing). */
  workDir: string;
  seq: number;
  executionCount: number;
  /** The cell's Python (kernel magic lines blanked). */
  code: string;
  silent: boolean;
  storeHistory: boolean;
  allowStdin: boolean;
  /** Reads a snapshot of the namespace, never writes it back, no stdin. */
  detached: boolean;
  /** #SBATCH options for this cell (defaults merged with the cell's own). */
  sbatch: readonly SbatchPair[];
  /** The cell's environment (modules, conda env, Python), when not the backend's configured one. */
  environment?: EnvironmentSetup;
  /** Run inside this held allocation (its holder's job id) rather than as a job of its own. */
  allocation?: string;
  /** Absent: python. */
  mode?: CellRunMode;
  /** A job array: the cell runs once per task (`task_id` in its namespace), never writing the notebook's namespace. */
  array?: ArrayRequest;
  gather?: GatherRequest;
}

/** A submitted cell, as persisted: enough to follow it again after a server restart. */
export interface SubmittedJob {
  jobId: string;
  /** The session directory, absolute on the cluster. */
  sessionDir: string;
  seq: number;
  /** Where the cell's process started, absolute on the cluster (absent in records of older versions). */
  workDir?: string;
  /** Runs from a snapshot of the namespace (removed when the cell ends). */
  detached?: boolean;
  /** Which backend runs it, to follow it again after a restart (absent: a job of its own). */
  via?: "allocation";
  /** The holder job of the allocation it runs in. */
  allocation?: string;
  /** Absent: python. */
  mode?: CellRunMode;
  /** An array's tasks and the options it was submitted with (what a rerun submits again). */
  array?: ArrayRequest & { sbatch: SbatchPair[] };
}

/** How one task of an array (or one srun task) ended. */
export interface PartEnd {
  /** The task's index in the array, or the srun task's rank. */
  index: number;
  /** `4521_7` for an array task; the job's id for an srun task. */
  jobId: string;
  outcome: SingleOutcome;
  /** The exception the task's code raised (outcome ended with error). */
  error?: RunnerError;
}

/** Where the tasks of an array (or the srun tasks of a cell) are. */
export interface PartsSummary {
  unit: "task" | "rank";
  /** The array's id, or the srun job's. */
  jobId: string;
  total: number;
  pending: number;
  /** Running, or left the queue and being read. */
  running: number;
  /** Ended without an error. */
  done: number;
  failed: PartEnd[];
}

/** How one process's follower saw it end. */
export type SingleOutcome =
  | {
      kind: "ended";
      status: "ok" | "error";
      maxRss?: string;
      /** When the runner wrote its end marker (epoch s, the node's clock: the same as its start's). */
      endTime?: number;
    }
  | {
      kind: "died";
      final: FinalJobStatus;
      started: boolean;
      stderrTail: string;
      /** The backend's own account of the death, when it knows better than the job's end state. */
      failure?: JobFailure;
    };

/** How a job ended: one process, or every task of an array / every srun task. */
export type JobOutcome = SingleOutcome | { kind: "parts"; summary: PartsSummary };

/** What a followed job reports, in order. */
export interface JobListener {
  /** Runner events in order; consecutive stream events of one name arrive merged. */
  onEvent(event: RunnerEvent): void;
  /** Text the job wrote to its own stdout/stderr (setup, subprocesses, slurmstepd). */
  onOutput(name: "stdout" | "stderr", text: string): void;
  /** The scheduler's view of the job while it is in the queue. */
  onStatus(status: JobStatus): void;
  /** What is delivered so far (persist it to resume without repeats). */
  onOffsets(offsets: CellOffsets): void;
  /** The end marker was seen or the job left the queue: the rest of its output is being read. */
  onEnding(): void;
  /** Reading the job's files failed for now (will retry): e.g. the connection dropped. */
  onTrouble(message: string): void;
  /** While it waits: a request that would start sooner (undefined: none, or no longer). */
  onHint?(hint: StartHint | undefined): void;
  /** An array's (or srun cell's) tasks: how many are where, which failed. */
  onParts?(summary: PartsSummary): void;
}

export type InputAnswer = { value: string } | { error: string };

/** A cell being followed. */
export interface JobHandle {
  readonly jobId: string;
  readonly done: Promise<JobOutcome>;
  /** Whether the cell's Python has started (an interrupt can reach it). */
  readonly started: boolean;
  answerInput(seq: number, answer: InputAnswer): Promise<void>;
  /** KeyboardInterrupt in the cell once it runs; before that, the job is cancelled. */
  interrupt(): Promise<void>;
  cancel(): Promise<void>;
}

export interface ExecutionBackend {
  /** The options of `sbatch` that this backend would not apply (said to the user, once). */
  ignoredOptions(sbatch: readonly SbatchPair[]): SbatchPair[];
  /** Writes the cell's files and submits it; resolves once the job has an id (waiting out a scheduler outage). */
  submit(spec: CellJobSpec, control?: SubmitControl): Promise<SubmittedJob>;
  /** Follows a submitted job from the given offsets (zero for a new one). */
  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle;
}
