/** Builds what every session of this server shares, from the configuration. */
import { watch } from "node:fs";
import type { Logger } from "pino";
import { errorMessage } from "../errors";
import { LocalTransport } from "../cluster/local-transport";
import type { Transport } from "../cluster/transport";
import type { Config } from "../config/config";
import type { Ledger } from "../ledger/ledger";
import { CellBook } from "../cells/cell-book";
import { ArrayBackend } from "../jobs/array/array-backend";
import type { ExecutionBackend } from "../jobs/backend";
import { BatchBackend } from "../jobs/batch-backend";
import { ClusterHealth } from "../jobs/cluster-health";
import { SessionFiles } from "../jobs/session-files";
import { Transfers } from "../jobs/transfers";
import type { SessionEnvironment } from "../session/environment";
import { ClusterDiscovery } from "../jobs/slurm/discovery";
import { probePythonVersion } from "../jobs/runner-install";
import { LocalScheduler } from "../jobs/local/local-scheduler";
import type { Scheduler } from "../jobs/scheduler";
import { SlurmScheduler } from "../jobs/slurm/slurm-scheduler";
import { resolveSshHost } from "../cluster/ssh-host-config";
import { SshTransport, type ConnectionState } from "../cluster/ssh-transport";
import { expandPath } from "../config/paths";
import { PromptBroker } from "./prompt-broker";

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn().catch((err) => {
      p = undefined; // let the next caller try again
      throw err;
    });
    return p;
  };
}

function watchLocalDir(dir: string, onChange: () => void): () => void {
  try {
    const w = watch(dir, { persistent: false }, onChange);
    w.on("error", () => w.close());
    return () => w.close();
  } catch {
    return () => {}; // polling alone still works
  }
}

/** The cluster connection the configuration asks for: this machine, or one SSH connection. */
export function createTransport(config: Config, prompts: PromptBroker, log: Logger): Transport {
  const c = config.cluster;
  if (c.transport === "local") return new LocalTransport();
  const host = resolveSshHost(c.host!, {
    configPath: c.ssh_config ? expandPath(c.ssh_config) : undefined,
    user: c.user,
    port: c.port,
  });
  if (c.identity_file) host.identityFiles = [...host.identityFiles, expandPath(c.identity_file)];
  return new SshTransport(host, {
    prompter: prompts,
    hostKeyPolicy: c.host_key_policy,
    agent: process.env.SSH_AUTH_SOCK,
    maxChannels: c.max_channels,
    log: (m) => log.info(m),
  });
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
 * The cells' Python version, asked of the environment once. Over SSH it is asked only once the
 * connection is up: kernel_info must not open a login (and a Duo prompt nobody can answer yet).
 */
function pythonVersionOf(transport: Transport, config: Config, loginShell: boolean): () => Promise<string> {
  const probe = once(() => probePythonVersion(transport, config.environment, loginShell));
  return () =>
    transport instanceof SshTransport && transport.state.status !== "connected"
      ? Promise.resolve("3")
      : probe();
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
  const transport = createTransport(config, prompts, log);
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
  const loginShell = config.environment.modules.length > 0;
  const watchDir = transport.kind === "local" ? watchLocalDir : undefined;
  const files = new SessionFiles(transport, {
    notebookDir: config.cluster.notebook_dir,
    workDir: config.work_dir,
  });
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
    backend: withArrays(
      new BatchBackend(transport, scheduler, files, {
        environment: config.environment,
        workDir: config.work_dir,
        umask: config.environment.umask,
        watchDir,
        outputLimitBytes: Math.round(config.server.max_cell_output_mb * (1 << 20)),
      }),
      transport,
      scheduler,
    ),
    pythonVersion: pythonVersionOf(transport, config, loginShell),
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
