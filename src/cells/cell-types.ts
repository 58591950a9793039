/**
 * The vocabulary of a cell's life: its identity, its phases, how it ended, and the events its
 * subscribers (status line, outputs, the cell book, the jobs panel) receive.
 */
import type { CellOffsets, CellRunMode, PartsSummary } from "../jobs/backend";
import type { JobFailure, RequestedResources } from "../jobs/diagnose";
import type { MimeBundle, NameKinds, RunnerError, RunnerEvent } from "../jobs/runner-events";
import type { FinalJobStatus, JobState, JobStatus } from "../jobs/scheduler";
import type { StartHint } from "../jobs/slurm/start-hints";
import type { MessageHeader } from "../protocol/messages";

/** Who asked for the cell, to answer them (also after a server restart). */
export interface CellOrigin {
  /** The execute_request's header: replies and outputs are its children. */
  parent: MessageHeader;
  clientId: string;
  /** The frontend accepts input requests (and the cell is not detached). */
  allowStdin: boolean;
  /** The status line's display_id, when the cell shows one. */
  displayId?: string;
}

/** What never changes about a cell. */
export interface CellInfo {
  sessionId: string;
  /** This notebook across kernel restarts and reopenings: `<workDir>/<notebook>`. */
  notebookKey: string;
  /** Per session, from 1: names the cell's files. */
  seq: number;
  executionCount: number;
  detached: boolean;
  /** The partition it goes to (its own, or the cluster's default when known). */
  partition?: string;
  requested: RequestedResources;
  origin: CellOrigin;
  /** The first line of its Python code (after the magics), for lists of jobs. */
  firstLine?: string;
  /** The frontend's id of the cell (JupyterLab's execute_request metadata `cellId`): jump to it. */
  cellId?: string;
  /** Which start of this notebook's kernel ran it: 1, then one more per restart or new kernel. */
  run?: number;
  /** The notebook's path as the frontend knows it, when the frontend said (the jobs comm). */
  notebookPath?: string;
  /** Absent: python. */
  mode?: CellRunMode;
  /** What its job waits for (`--after`): each job, and how the user knows it ("cell 12 (job 4519)"). */
  after?: CellDependency[];
}

export interface CellDependency {
  jobId: string;
  label: string;
}

/** One task of an array (or srun task) that failed, told as a single cell's failure would be. */
export interface PartFailure {
  index: number;
  jobId: string;
  /** In Slurm's words: FAILED for a task whose code raised, else its job's end state. */
  state: JobState;
  failure: JobFailure;
}

/** How a cell ended. */
export type CellOutcome =
  /** The cell ran to its end marker without an exception. */
  | { kind: "completed"; maxRss?: string }
  /** The cell's own code raised (shown to the user as it happened). */
  | { kind: "raised"; error: RunnerError; maxRss?: string }
  /** The job ended without an end marker: diagnosed from the scheduler and the job's stderr. */
  | { kind: "died"; failure: JobFailure; final: FinalJobStatus }
  /** Following the job failed inside the server. */
  | { kind: "lost"; message: string }
  /** Submission failed: no job exists. */
  | { kind: "refused"; error: unknown }
  /** Tasks of an array (or srun tasks) failed; the others completed. */
  | { kind: "parts"; summary: PartsSummary; failures: PartFailure[]; interrupted: boolean };

export interface CellEnd {
  outcome: CellOutcome;
  /** In Slurm's words: COMPLETED, FAILED for a cell that raised, or the job's own end state. */
  state: JobState;
  /** Seconds from the start of the cell's process to its end (0 when it never started). */
  seconds: number;
  maxRss?: string;
  node?: string;
  at: number;
  /** What the cell asked to show in a pager (IPython's `obj?`), for the reply's payload. */
  pages: PageRequest[];
}

export interface PageRequest {
  data: MimeBundle;
  start: number;
}

export type CellPhase =
  | { name: "planned" }
  /** `waiting`: why submission waits (the scheduler does not answer), while it does. */
  | { name: "submitting"; waiting?: string }
  | { name: "queued"; jobId: string; since: number; status?: JobStatus }
  | { name: "running"; jobId: string; since: number; node?: string; status?: JobStatus }
  | { name: "ending"; jobId: string }
  | { name: "ended"; end: CellEnd };

/** Runner events that are the cell's output (what a frontend shows). */
export type CellOutput = Extract<
  RunnerEvent,
  { type: "stream" | "display_data" | "update_display_data" | "clear_output" | "execute_result" | "error" }
>;

export type CellEvent =
  /** The phase changed, or the scheduler said something new about it. */
  | { type: "phase"; phase: CellPhase }
  | { type: "output"; output: CellOutput }
  /** The job started a second time (Slurm requeued it); the output before is from the first run. */
  | { type: "requeued"; host: string }
  /** Slurm stopped the running job and put it back in the queue: it will run the cell again. */
  | { type: "requeueing"; cause: string }
  | { type: "input"; seq: number; prompt: string; password: boolean }
  | { type: "page"; page: PageRequest }
  /** What the cell did with the namespace; `names`: every name it left there, with type names
   *  (absent for a detached cell, which saves nothing); `kinds`: what each is, for completion. */
  | { type: "namespace"; names?: Record<string, string>; kinds?: NameKinds; use: NamespaceUse }
  | { type: "offsets"; offsets: CellOffsets }
  /** Reading the job's output failed for now; retrying. */
  | { type: "trouble"; message: string }
  /** While it waits: another request that would start sooner (none: undefined). */
  | { type: "hint"; hint: StartHint | undefined }
  /** Where an array's tasks (or an srun cell's) are now. */
  | { type: "parts"; summary: PartsSummary };

export type CellListener = (event: CellEvent) => void;

/** What a cell's job did with the namespace store (from the runner's `namespace` event). */
export interface NamespaceUse {
  /** Names in the namespace when the cell started, and how many of them it loaded. */
  total: number;
  loaded: number;
  /** Bytes read from the store, and bytes memory-mapped (read only where the cell touched them). */
  loadedBytes: number;
  mappedBytes: number;
  loadSeconds: number;
  /** Names written (new or changed) and their bytes: 0 for a detached cell. */
  written: number;
  writtenBytes: number;
  saveSeconds: number;
  /** The store's size after the cell; absent for a detached cell. */
  storeBytes?: number;
}
