/**
 * The JSON bodies the server's REST API sends, in one place: app.ts and connection-routes.ts build
 * their responses as these types (`satisfies`), and the CLI reads them as these types instead of
 * declaring its own. Field names are the wire's (Jupyter Server's snake_case for its kernels API).
 */
import type { PendingPrompt } from "../cluster/prompts";
import type { ConnectionState } from "../cluster/ssh-transport";
import type { KernelSpec } from "../kernel/kernelspec";
import type { JobView } from "../protocol/jobs-feed";

/** Every error response (4xx, 5xx) that has a body. */
export interface ErrorBody {
  message: string;
}

/** GET /api */
export interface ApiInfo {
  version: string;
  implementation: "alpine-kernel";
}

/** GET /api/status: what Jupyter Server's own /api/status has. */
export interface ServerStatus {
  /** ISO 8601 */
  started: string;
  /** ISO 8601 */
  last_activity: string;
  connections: number;
  kernels: number;
}

/** GET /api/metrics */
export interface ServerMetrics {
  backend: string;
  transport: "local" | "ssh";
  /** Cluster commands run so far, by program (sbatch, squeue, ...). */
  commands: Record<string, number>;
  /** File operations so far, by kind (read, write, stat, ...). */
  fileOps: Record<string, number>;
  /** Frontends connected, over all kernels. */
  connections: number;
  /** Cells running or queued, detached ones included. */
  cellsInFlight: number;
  /** Milliseconds since the epoch; 0 when nothing happened yet. */
  lastActivity: number;
}

/** One kernel: GET /api/kernels (a list of them), GET /api/kernels/:id, POST /api/kernels (201), restart. */
export interface KernelModel {
  id: string;
  name: string;
  /** ISO 8601 */
  last_activity: string;
  execution_state: string;
  connections: number;
}

/** GET /api/kernelspecs/:name, and each entry of GET /api/kernelspecs */
export interface KernelSpecModel {
  name: string;
  spec: KernelSpec;
  /** logo-32x32, logo-64x64: URLs on this server */
  resources: Record<string, string>;
}

/** GET /api/kernelspecs */
export interface KernelSpecList {
  default: string;
  kernelspecs: Record<string, KernelSpecModel>;
}

/**
 * The cluster connection: GET /api/connection, GET /api/connection/prompts (long poll),
 * POST /api/connection/login (202) and /logout.
 */
export interface ConnectionView {
  /** Changes whenever the state or the prompts do: the long poll answers at once when it moved on. */
  version: number;
  transport: "local" | "ssh";
  /** Who commands run as on the cluster. */
  user: string;
  /** For the local transport always connected, to "this machine". */
  state: ConnectionState;
  /** Login prompts waiting for an answer. */
  prompts: PendingPrompt[];
  /** Said when there is nothing to do (login with the local transport). */
  message?: string;
}

/** POST /api/connection/prompts/:id: 200 when this answer was taken, 409 when not. */
export interface PromptAnswerResult {
  accepted: boolean;
  message?: string;
}

/** GET /api/files?notebook=NAME: a notebook's cells directory on the cluster (or, without NAME, the folder of all of them). */
export interface FilesView {
  transport: "local" | "ssh";
  /** The directory listed, absolute on the cluster; absent when there is nothing to list (local transport). */
  dir?: string;
  entries: { name: string; size: number; directory: boolean; modified: string }[];
  /** Said instead of a listing. */
  message?: string;
}

/** GET /api/jobs: every cell job in flight and those ended in the last 24 h (the jobs panel's data). */
export interface JobsList {
  jobs: JobView[];
  /** The server's clock (ms since the epoch), to tick waiting/elapsed times from. */
  now: number;
  version: string;
}

/** POST /api/jobs/:id/cancel */
export interface CancelResult {
  id: string;
  jobId: string;
  /** "cancelled job 123", or that it had already ended. */
  message: string;
}

/** GET /api/jobs/:id/tail?lines=N: the last lines of a cell's recorded output, as text. */
export interface OutputTail {
  id: string;
  jobId: string;
  text: string;
  /** Lines in the whole output. */
  lines: number;
  ended: boolean;
}
