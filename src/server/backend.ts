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
import { BatchBackend } from "../jobs/batch-backend";
import { ClusterHealth } from "../jobs/cluster-health";
import { SessionFiles } from "../jobs/session-files";
import type { SessionEnvironment } from "../session/environment";
import { ClusterDiscovery } from "../jobs/slurm/discovery";
import { PythonCheck, probePython } from "../jobs/python-check";
import { LocalScheduler } from "../jobs/local/local-scheduler";
import type { Scheduler } from "../jobs/scheduler";
import { SlurmScheduler } from "../jobs/slurm/slurm-scheduler";
import { SshTransport, type ConnectionState } from "../cluster/ssh-transport";
import { PromptBroker } from "./prompt-broker";

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
    scheduler = new SlurmScheduler(transport, {
      minIntervalMs: config.slurm.poll_min_seconds * 1000,
      maxIntervalMs: config.slurm.poll_max_seconds * 1000,
      onTrouble: (message) => {
        if (message) log.warn(message);
        health.report(message);
      },
    });
    discovery = new ClusterDiscovery(transport, config.slurm.discovery_ttl_seconds * 1000);
  } else {
    if (!(transport instanceof LocalTransport))
      throw new Error("the local backend runs cells on this machine: it needs the local transport");
    scheduler = new LocalScheduler(transport);
  }
  const files = new SessionFiles(transport);
  const { modules, setup, conda_env } = config.environment;
  const environment = { modules, setup, python: config.environment.python ?? "python3", conda_env };
  const env: SessionEnvironment = {
    scheduler,
    config,
    ledger,
    log,
    discovery,
    health,
    files,
    cells: new CellBook(ledger),
    backend: new BatchBackend(transport, scheduler, files, {
      environment,
      workDir: config.work_dir,
      watchDir: transport.kind === "local" ? watchLocalDir : undefined,
    }),
    python: new PythonCheck((e) => probePython(transport, e)),
    mayProbe: mayProbe(transport),
    prompts,
  };
  return {
    env,
    transport,
    // Stopping goes on when these fail: the server must get to its end.
    close: async () => {
      await scheduler.close().catch((err) => log.warn(`closing the scheduler failed: ${errorMessage(err)}`));
      await transport
        .close()
        .catch((err) => log.warn(`closing the cluster connection failed: ${errorMessage(err)}`));
    },
  };
}
