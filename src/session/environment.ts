/** What every session of a server shares: the configuration, the cluster's services, the cell book. */
import type { Logger } from "pino";
import type { CellBook } from "../cells/cell-book";
import type { PromptHub } from "../cluster/prompts";
import type { Config } from "../config/config";
import type { Allocations } from "../jobs/allocation/allocations";
import type { ExecutionBackend } from "../jobs/backend";
import type { IntrospectionHelper } from "../jobs/introspection/introspection-helper";
import type { ClusterHealth } from "../jobs/cluster-health";
import type { PythonCheck } from "../jobs/python-check";
import type { Scheduler } from "../jobs/scheduler";
import type { SessionFiles } from "../jobs/session-files";
import type { Transfers } from "../jobs/transfers";
import type { ClusterDiscovery } from "../jobs/slurm/discovery";
import type { Ledger } from "../ledger/ledger";

export interface SessionEnvironment {
  config: Config;
  log: Logger;
  /** Sessions' own records (execution count, history, %slurm defaults). */
  ledger: Ledger;
  /** Every cell job, per notebook (ledger-backed). */
  cells: CellBook;
  /** Runs cells. */
  backend: ExecutionBackend;
  /** Sessions' directories on the cluster. */
  files: SessionFiles;
  /** Files between this machine and the cluster (%upload, %download). */
  transfers: Transfers;
  /** The scheduler behind the backend: its kind, accounting and cancelling by job id. */
  scheduler: Scheduler;
  /** The cluster's partitions and the user's accounts (slurm backend only). */
  discovery?: ClusterDiscovery;
  /** What is wrong with the cluster now, for status lines. */
  health: ClusterHealth;
  /** Which Python runs the cells of an environment, and whether it can (asked once, kept once good). */
  python: PythonCheck;
  /** False while asking the cluster would open a login nobody asked for (ssh, not connected yet). */
  mayProbe(): boolean;
  /** Login prompts of the cluster connection (ssh transport), for cells to answer in the notebook. */
  prompts?: PromptHub;
  /** A new introspection helper for a session (completion.helper: true). */
  openIntrospection?: () => IntrospectionHelper;
  /** Held allocations, `%slurm allocate` (slurm backend only). */
  allocations?: Allocations;
}
