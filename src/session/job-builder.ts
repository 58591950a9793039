/** Turns one cell of a session into the files and job script its backend runs. */
import { join } from "node:path";
import type { Logger } from "pino";
import type { Transport } from "../cluster/transport";
import type { Config } from "../config/config";
import type { Ledger } from "../ledger/ledger";
import { cellPaths, type CellPaths } from "../jobs/job-follower";
import type { RequestedResources } from "../jobs/diagnose";
import { renderJobScript } from "../jobs/job-script";
import type { SbatchPair } from "../magics/types";
import { requestedOf } from "./cell-options";
import type { JobStatus, Scheduler, SubmitSpec } from "../jobs/scheduler";
import type { ClusterDiscovery } from "../jobs/slurm/discovery";
import type { JobBook } from "./job-book";
import type { LiveStatus } from "./live-status";
import type { PromptHub } from "../cluster/prompts";

/** What every session of a server shares: the cluster, the backend and the configuration. */
export interface SessionEnvironment {
  transport: Transport;
  scheduler: Scheduler;
  config: Config;
  ledger: Ledger;
  log: Logger;
  /** Path of the cell runner on the cluster's file system (installed on first use). */
  runnerPath(): Promise<string>;
  /** Python version of the cells' environment. */
  pythonVersion(): Promise<string>;
  /** Wakes cell followers when a directory changes (local file systems only). */
  watchDir?: (dir: string, onChange: () => void) => () => void;
  /** The cluster's partitions and the user's accounts (slurm backend only). */
  discovery?: ClusterDiscovery;
  /** Every cell job, per notebook (ledger-backed). */
  jobs: JobBook;
  /** The last status the watcher saw for a job in the queue. */
  liveStatus(jobId: string): JobStatus | undefined;
  /** Status lines on screen now: told when the scheduler stops or starts answering. */
  statusBoard: Set<LiveStatus>;
  /** Login prompts of the cluster connection (ssh transport), for cells to answer in the notebook. */
  prompts?: PromptHub;
}

export interface CellSpec {
  seq: number;
  executionCount: number;
  /** The cell's Python (kernel magic lines blanked). */
  code: string;
  silent: boolean;
  storeHistory: boolean;
  allowStdin: boolean;
  /** #SBATCH options for this cell (effective: defaults merged with the cell's own). */
  sbatch: readonly SbatchPair[];
  /** Detached: reads a snapshot of the namespace, never writes it back, no stdin. */
  detached: boolean;
}

export interface BuiltCellJob {
  /** The session directory, absolute on the cluster. */
  dir: string;
  paths: CellPaths;
  code: string;
  script: string;
  spec: Omit<SubmitSpec, "scriptPath" | "stdoutPath" | "stderrPath" | "eventsPath">;
  requested: RequestedResources;
}

/** Job names show in squeue: keep them short and shell-safe. */
export function jobName(notebook: string, executionCount: number, seq: number): string {
  const base =
    notebook
      .replace(/\.ipynb$/, "")
      .replace(/[^A-Za-z0-9_.-]+/g, "_")
      .slice(0, 40) || "notebook";
  return `ak-${base}-c${executionCount || `s${seq}`}`;
}

/** The mark a cell's job carries (#SBATCH --comment) so it can be found again: alpine-kernel:<kernel>/<cell>. */
export function submitTag(sessionId: string, seq: number): string {
  return `alpine-kernel:${sessionId}/${seq}`;
}

export async function buildCellJob(
  env: SessionEnvironment,
  session: { id: string; dir: string; workDir: string; notebook: string },
  cell: CellSpec,
): Promise<BuiltCellJob> {
  const dir = await env.transport.resolvePath(session.dir);
  const paths = cellPaths(dir, cell.seq);
  const namespace = join(dir, "namespace.pkl");
  const runnerArgs = [
    "--code",
    paths.code,
    "--events",
    paths.events,
    "--execution-count",
    String(cell.executionCount),
  ];
  if (cell.detached) {
    // The namespace as of submission: later cells may change namespace.pkl before this job starts.
    const snapshot = paths.code.replace(/\.py$/, ".namespace.pkl");
    if (await env.transport.exists(namespace)) await env.transport.copyFile(namespace, snapshot);
    runnerArgs.push("--namespace-in", snapshot);
  } else {
    runnerArgs.push("--namespace-in", namespace, "--namespace-out", namespace);
  }
  if (cell.allowStdin && !cell.detached) runnerArgs.push("--allow-stdin");
  if (cell.silent) runnerArgs.push("--silent");
  if (!cell.storeHistory) runnerArgs.push("--no-store-history");
  const environment = env.config.environment;
  const script = renderJobScript({
    jobName: jobName(session.notebook, cell.executionCount, cell.seq),
    sbatch: [...cell.sbatch, ["--comment", submitTag(session.id, cell.seq)]],
    stdoutPath: paths.stdout,
    stderrPath: paths.stderr,
    workDir: session.workDir,
    environment,
    runnerPath: await env.runnerPath(),
    runnerArgs,
    description: `alpine-kernel cell ${cell.executionCount} of ${session.notebook} (kernel ${session.id})`,
  });
  return {
    dir,
    paths,
    code: cell.code,
    script,
    spec: {
      workDir: session.workDir,
      loginShell: environment.modules.length > 0,
      tag: submitTag(session.id, cell.seq),
    },
    requested: requestedOf(cell.sbatch),
  };
}
