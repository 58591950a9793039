/**
 * What runs a cell's job script. `slurm` submits it with sbatch; `local` runs it with bash on this
 * machine. Both report job states in Slurm's vocabulary.
 */

import type { HintListener } from "./slurm/start-hints";

/** Slurm job states we act on (squeue/sacct spelling); local jobs use the same words. */
export type JobState =
  | "PENDING"
  | "CONFIGURING"
  | "RUNNING"
  | "COMPLETING"
  | "SUSPENDED"
  | "REQUEUED"
  | "COMPLETED"
  | "FAILED"
  | "CANCELLED"
  | "TIMEOUT"
  | "OUT_OF_MEMORY"
  | "NODE_FAIL"
  | "PREEMPTED"
  | "BOOT_FAIL"
  | "DEADLINE"
  | "UNKNOWN";

/** A job's live status while it is in the queue. */
export interface JobStatus {
  jobId: string;
  state: JobState;
  /** Why it is pending (Priority, Resources, ...), "None" before the scheduler looked at it. */
  reason?: string;
  partition?: string;
  node?: string;
  /** Estimated (pending) or actual (running) start, ISO local time as Slurm prints it. */
  startTime?: string;
  /** Elapsed and limit in Slurm's [D-]HH:MM:SS spelling. */
  elapsed?: string;
  timeLimit?: string;
  cpus?: number;
  /** Total memory of the allocation (from tres-alloc), e.g. "16G". */
  memory?: string;
  gpus?: number;
  /** Slurm's billing units (TRES `billing`, from the cluster's TRESBillingWeights): service units per hour. */
  billing?: number;
  name?: string;
}

/** What is known once the job has left the queue. */
export interface FinalJobStatus {
  jobId: string;
  state: JobState;
  exitCode: number;
  /** Signal that ended the job's main process, 0 if none. */
  signal: number;
  elapsed?: string;
  timeLimit?: string;
  maxRss?: string;
  reqMem?: string;
  node?: string;
  /** The billing TRES accounting recorded (AllocTRES `billing=`): service units per hour. */
  billing?: number;
  /** The scheduler could not tell (e.g. the local process ended while the server was down). */
  unknown?: boolean;
}

export interface SubmitSpec {
  scriptPath: string;
  workDir: string;
  stdoutPath: string;
  stderrPath: string;
  /** Run the script as a login shell (needed for `module`). */
  loginShell: boolean;
  /** Unique to this cell's job and written in its script as `#SBATCH --comment`: finds the job again if sbatch's answer is lost. */
  tag: string;
  /** The runner's events file: its start event names the job. */
  eventsPath: string;
  /** `--time`, in seconds (a scheduler without Slurm applies it itself). */
  timeLimitSeconds?: number;
}

export type StatusListener = (status: JobStatus) => void;

/** How a submission that has to wait (the controller does not answer) is watched and withdrawn. */
export interface SubmitControl {
  /** Withdraws the submission (an interrupt): no more retries; a job that may exist is still looked for. */
  signal?: AbortSignal;
  /** Why submission is waiting, while it waits; `undefined` once it is done waiting. */
  onWaiting?: (message: string | undefined) => void;
}

export interface Scheduler {
  readonly kind: "local" | "slurm";
  /** The sbatch options it applies: all of them (Slurm), or those it can (the local backend: --time). */
  readonly applies: "all" | ReadonlySet<string>;
  submit(spec: SubmitSpec, control?: SubmitControl): Promise<string>;
  /** Live statuses of a job; `onGone` is called once when the job has left the queue. */
  watch(jobId: string, onStatus: StatusListener, onGone: () => void): () => void;
  /** SIGINT to the cell's Python (KeyboardInterrupt). */
  interrupt(jobId: string): Promise<void>;
  cancel(jobId: string): Promise<void>;
  final(jobId: string): Promise<FinalJobStatus>;
  /**
   * Start-time hints while the job waits (Slurm only): another request that would start sooner,
   * or undefined when none does (any more).
   */
  startHints?(jobId: string, scriptPath: string, onHint: HintListener): () => void;
  /**
   * What accounting says now about these jobs (`%sacct`, array tasks' ends), by job id; an array's
   * id brings every record of it (`27_3`, `27_[4-9]`). Jobs it does not know are left out.
   */
  accounting(jobIds: readonly string[]): Promise<Map<string, FinalJobStatus>>;
  close(): Promise<void>;
}
