/** Builds what every session of this server shares, from the configuration. */
import { watch } from "node:fs";
import type { Logger } from "pino";
import { errorMessage } from "../errors";
import { LocalTransport } from "../cluster/local-transport";
import { createTransport } from "../cluster/create-transport";
import type { Transport } from "../cluster/transport";
import type { Config } from "../config/config";
import type { Ledger } from "../ledger/ledger";
import { CellBook } from "../cells/cell-book";
import { ArrayBackend } from "../jobs/array/array-backend";
import type { ExecutionBackend } from "../jobs/backend";
import { BatchBackend } from "../jobs/batch-backend";
import { Allocations, type AllocationRecord } from "../jobs/allocation/allocations";
import { BackendRouter } from "../jobs/backend-router";
import { ClusterHealth } from "../jobs/cluster-health";
import { SessionFiles } from "../jobs/session-files";
import { Transfers } from "../jobs/transfers";
import type { SessionEnvironment } from "../session/environment";
import { ClusterDiscovery } from "../jobs/slurm/discovery";
import { PythonCheck, probePython } from "../jobs/python-check";
import { LocalScheduler } from "../jobs/local/local-scheduler";
import type { Scheduler } from "../jobs/scheduler";
import { SlurmScheduler } from "../jobs/slurm/slurm-scheduler";
import { SshTransport, type ConnectionState } from "../cluster/ssh-transport";
import { PromptBroker } from "./prompt-broker";
import { IntrospectionHelper } from "../jobs/introspection/introspection-helper";

function watchLocalDir(dir: string, onChange: () => void): () => void {
  try {
    const w = watch(dir, { persistent: false }, onChange);
    w.on("error", () => w.close());
    return () => w.close();
  } catch {
    return () => {}; // polling alone still works
  }
}

function connectionTrouble(state: ConnectionState): string | undefined {
  switch (state.status) {
    case "connected":
      return undefined;
    case "connecting":
      return `connecting to ${state.target}…`;
    case "failed":
      return `cannot connect to ${state.target} (${state.lastError ?? "unknown error"}); retrying`;
    case "disconnected":
      return `connection to ${state.target} lost, reconnecting`;
  }
}

/**
 * Over SSH the cells' Python is asked about only once the connection is up: kernel_info must not
 * open a login (and a Duo prompt nobody can answer yet); the first cell asks anyway.
 */
function mayProbe(transport: Transport): () => boolean {
  return () => !(transport instanceof SshTransport) || transport.state.status === "connected";
}

/** On Slurm, array cells are followed as arrays (the local backend refuses them). */
function withArrays(inner: BatchBackend, transport: Transport, scheduler: Scheduler): ExecutionBackend {
  return scheduler instanceof SlurmScheduler
    ? new ArrayBackend(inner, transport, scheduler, inner.followOptions())
    : inner;
}

/** What the server builds from its configuration: the sessions' environment and the one cluster connection. */
export interface ServerBackend {
  env: SessionEnvironment;
  transport: Transport;
  close(): Promise<void>;
}

export function createBackend(
  config: Config,
  ledger: Ledger,
  log: Logger,
  prompts?: PromptBroker,
): ServerBackend {
  prompts ??= new PromptBroker(config.cluster.prompt_timeout_seconds * 1000);
  const transport = createTransport(config.cluster, prompts, (m) => log.info(m));
  const health = new ClusterHealth();
  if (transport instanceof SshTransport)
    transport.onStateChange((state) => health.report(connectionTrouble(state)));
  let scheduler: Scheduler;
  let discovery: ClusterDiscovery | undefined;
  if (config.backend === "slurm") {
    discovery = new ClusterDiscovery(transport, config.slurm.discovery_ttl_seconds * 1000);
    const hintOptions = {
      callsPerMinute: config.slurm.hint_calls_per_minute,
      afterMs: config.slurm.hint_after_seconds * 1000,
      refreshMs: 5 * 60_000,
      log: (m: string) => log.info(m),
    };
    scheduler = new SlurmScheduler(
      transport,
      {
        minIntervalMs: config.slurm.poll_min_seconds * 1000,
        maxIntervalMs: config.slurm.poll_max_seconds * 1000,
        onTrouble: (message) => {
          if (message) log.warn(message);
          health.report(message);
        },
      },
      config.slurm.start_hints ? { discovery, options: hintOptions } : undefined,
    );
  } else {
    if (!(transport instanceof LocalTransport))
      throw new Error("the local backend runs cells on this machine: it needs the local transport");
    scheduler = new LocalScheduler(transport);
  }
  const loginShell = config.environment.modules.length > 0;
  const files = new SessionFiles(transport, {
    notebookDir: config.cluster.notebook_dir,
    workDir: config.work_dir,
  });
  const { modules, setup, conda_env } = config.environment;
  const environment = { modules, setup, python: config.environment.python ?? "python3", conda_env };
  const watchDir = transport.kind === "local" ? watchLocalDir : undefined;
  const batch = new BatchBackend(transport, scheduler, files, {
    environment,
    workDir: config.work_dir,
    umask: config.environment.umask,
    watchDir,
    outputLimitBytes: Math.round(config.server.max_cell_output_mb * (1 << 20)),
  });
  // Held allocations (%slurm allocate) exist on Slurm only; their records live in the ledger.
  const allocations =
    config.backend === "slurm"
      ? new Allocations(
          transport,
          scheduler,
          files,
          {
            get: (id) => ledger.get<AllocationRecord>("allocation", id),
            put: (rec) => ledger.put(rec),
            update: (id, fields) => ledger.update("allocation", id, fields),
            list: () => ledger.list<AllocationRecord>("allocation"),
            remove: (id) => ledger.remove("allocation", id),
          },
          {
            environment,
            workDir: config.work_dir,
            umask: config.environment.umask,
            watchDir,
            outputLimitBytes: Math.round(config.server.max_cell_output_mb * (1 << 20)),
            saveAheadSeconds: config.slurm.allocation.save_ahead_seconds,
            warnAheadSeconds: config.slurm.allocation.warn_ahead_seconds,
            afterEnd: config.slurm.allocation.after_end,
            log: (m) => log.warn(m),
          },
        )
      : undefined;
  const env: SessionEnvironment = {
    scheduler,
    config,
    ledger,
    log,
    discovery,
    health,
    files,
    transfers: new Transfers(transport, files),
    cells: new CellBook(ledger),
    backend: allocations
      ? new BackendRouter(withArrays(batch, transport, scheduler), allocations.backend)
      : withArrays(batch, transport, scheduler),
    ...(allocations ? { allocations } : {}),
    python: new PythonCheck((e) => probePython(transport, e)),
    mayProbe: mayProbe(transport),
    prompts,
    openIntrospection: config.completion.helper
      ? () =>
          new IntrospectionHelper(transport, {
            environment,
            workDir: config.work_dir,
            loginShell,
            timeoutMs: config.completion.timeout_ms,
            nice: config.completion.nice,
            // Completion never opens a login (a Duo prompt nobody asked for): it waits for a cell to.
            canStart: () => !(transport instanceof SshTransport) || transport.state.status === "connected",
            log: (m) => log.info(m),
          })
      : undefined,
  };
  // The jobs panel and the queue page list held allocations beside the cells.
  if (allocations) env.cells.feed.addAllocations(allocations);
  return {
    env,
    transport,
    // Stopping goes on when these fail: the server must get to its end.
    close: async () => {
      allocations?.close();
      await scheduler.close().catch((err) => log.warn(`closing the scheduler failed: ${errorMessage(err)}`));
      await transport
        .close()
        .catch((err) => log.warn(`closing the cluster connection failed: ${errorMessage(err)}`));
    },
  };
}
