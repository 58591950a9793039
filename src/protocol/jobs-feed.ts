/**
 * The jobs feed on the wire: one cell job as every view of the queue shows it (the JupyterLab jobs
 * panel through the kernel's comm, the standalone queue page through its WebSocket, `GET
 * /api/jobs`), and the messages of the feed. No imports: the JupyterLab extension and the queue
 * page (labextension/) compile against this same file.
 */

/** The comm target the JupyterLab extension opens (comm_open `target_name`). */
export const JOBS_COMM_TARGET = "alpine_kernel.jobs";

/** How a cell ended, in the words of who ended it. */
export type JobOutcome =
  /** The cell ran to its end without an exception. */
  | "completed"
  /** The cell's own Python code raised: the cell's error, not Slurm's. */
  | "raised"
  /** The job ended without finishing the cell (time limit, memory, cancelled, node failure...). */
  | "died"
  /** The server could not follow the job. */
  | "lost"
  /** sbatch refused the job. */
  | "refused";

/** One cell job. Times are milliseconds since the epoch; clocks tick in the views, not on the wire. */
export interface JobView {
  /** The cell: `<kernel id>/<seq>`. */
  id: string;
  jobId: string;
  /** The notebook's file name. */
  notebook: string;
  /** The notebook's path as the frontend that ran it knows it (JupyterLab's, from its root), when told. */
  notebookPath?: string;
  /** The notebook on the server's side: `<working directory>/<notebook>`. */
  notebookKey: string;
  kernelId: string;
  /** Which start of this notebook's kernel ran it (1, then one more per restart or new kernel). */
  run: number;
  /** `In [n]`; 0 for cells run without a count (silent). */
  executionCount: number;
  seq: number;
  /** The frontend's id of the cell (JupyterLab's `cellId`), to jump to it. */
  cellId?: string;
  /** The first line of the cell's Python code (after its magics). */
  firstLine: string;
  detached: boolean;
  phase: "queued" | "running" | "ending" | "ended";
  /** Slurm's state word: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT... */
  state: string;
  /** Why a queued job waits, in Slurm's word (Priority, Resources...). */
  reason?: string;
  /** The same, in plain words. */
  reasonText?: string;
  partition?: string;
  /** "4 CPUs, 16G, 1 GPU" (the allocation, or the request while it waits). */
  resources?: string;
  /** The time limit in seconds (undefined: none known). */
  timeLimitSeconds?: number;
  submittedAt: number;
  /** When it entered the queue (this server's clock). */
  queuedAt?: number;
  startedAt?: number;
  endedAt?: number;
  /** Slurm's estimate of the start of a waiting job (ISO local time as Slurm prints it). */
  estimatedStart?: string;
  node?: string;
  /** Slurm's billing units of the job (TRES `billing`): service units per hour. */
  billing?: number;
  /** Service units the job used, once it has ended (billing × hours). */
  serviceUnits?: number;
  /** Set once the job has ended. */
  end?: JobEndView;
  /** "allocation": a held allocation (`%slurm allocate`), whose cells have rows of their own; absent: a cell. */
  kind?: "allocation";
  /** When the time limit ends it (ms), once it runs: views show the time left. */
  endsAt?: number;
  /** From then on (ms) the time left is shown as a warning (`slurm.allocation.warn_ahead_seconds`). */
  warnAt?: number;
  /** A cell that ran inside a held allocation: that allocation's job id. */
  inAllocation?: string;
}

export interface JobEndView {
  outcome: JobOutcome;
  /** The error's name: the cell's exception (ValueError), or the job's end (SlurmTimeout). */
  errorName?: string;
  /** One sentence on what happened, when it did not complete. */
  message?: string;
  /** `exit:signal` as sacct says it; "0:0" for a completed cell. */
  exitCode?: string;
  maxRss?: string;
  /** Seconds from the start of the cell's process to its end. */
  seconds?: number;
}

/** Said once, at the moment it happens, to whoever subscribes then. */
export type JobNotice =
  /** A cell started running after waiting in the queue. */
  | { kind: "started"; job: JobView; waitedSeconds: number }
  /** A cell ended (`job.end` says how). */
  | { kind: "ended"; job: JobView };

/** What the server says on the feed (comm_msg data, WebSocket text frames). */
export type JobsFeedMessage =
  | { type: "snapshot"; jobs: JobView[]; now: number; version: string }
  | { type: "update"; jobs: JobView[]; now: number }
  | { type: "notice"; notice: JobNotice }
  | {
      type: "tail";
      requestId: string;
      id: string;
      jobId: string;
      text: string;
      lines: number;
      ended: boolean;
    }
  | { type: "cancelled"; requestId: string; id: string; jobId: string; message: string }
  | { type: "error"; requestId?: string; message: string };

/** What a client asks on the feed (comm_msg data, WebSocket text frames). */
export type JobsFeedRequest =
  /** Start (again) receiving the snapshot and its updates; also renews the subscription's lease. */
  | { type: "subscribe" }
  | { type: "unsubscribe" }
  /** The notebook this kernel runs, as the frontend knows it (for jump-to-cell). */
  | { type: "notebook"; path: string }
  | { type: "cancel"; requestId: string; id: string }
  | { type: "tail"; requestId: string; id: string; lines?: number };

/** comm_open data of the jobs comm: the notebook's path, and whether this comm wants the feed. */
export interface JobsCommOpenData {
  notebook_path?: string;
  subscribe?: boolean;
}

/** A subscription not renewed (by "subscribe") for this long is dropped: tabs closed without a word. */
export const FEED_LEASE_SECONDS = 120;

// ------------------------------------------------ spellings every view of the feed shares

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * A duration as every view says it: "0.4 s", "6 s", "59 s" under a minute (a 0.4 s cell is not
 * "0:00"), then "1:05", "12:41", "1:02:03", "2-01:00:00" (Slurm's own forms past an hour).
 */
export function clockText(seconds: number): string {
  const x = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  if (x < 0.95) return `${x.toFixed(1)} s`;
  const s = Math.round(x);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}:${pad2(s % 60)}`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const hms = `${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return d > 0 ? `${d}-${pad2(h)}:${hms}` : `${h}:${hms}`;
}

/** "3", "3 (run 2)" when cells of more than one start of the kernel are listed together; "s4" when run silently. */
export function cellLabel(
  v: { executionCount: number; seq: number; run?: number },
  showRun: boolean,
): string {
  const n = String(v.executionCount || `s${v.seq}`);
  return showRun ? `${n} (run ${v.run ?? 1})` : n;
}

/** Slurm's end state, and whose doing it was: "FAILED (cell raised ValueError)" is the cell's own error. */
export function stateWords(v: Pick<JobView, "state" | "end">): string {
  const e = v.end;
  if (!e || e.outcome === "completed") return v.state;
  if (e.outcome === "raised") return `${v.state} (cell raised ${e.errorName ?? "an exception"})`;
  return e.errorName ? `${v.state} (${e.errorName})` : v.state;
}
