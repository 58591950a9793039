/**
 * A command's own connection to the cluster (init, env, doctor run without the server): the
 * configured transport, its login answered by a Prompter (the terminal), Slurm discovery and a
 * scheduler for jobs the command submits itself.
 */
import { createTransport } from "../cluster/create-transport";
import type { Prompter } from "../cluster/prompts";
import { SshTransport } from "../cluster/ssh-transport";
import type { Transport } from "../cluster/transport";
import type { Config } from "../config/config";
import { ClusterDiscovery } from "../jobs/slurm/discovery";
import { SlurmScheduler } from "../jobs/slurm/slurm-scheduler";

export interface ClusterSession {
  config: Config;
  transport: Transport;
  discovery: ClusterDiscovery;
  scheduler: SlurmScheduler;
  /** user@host:port for messages, or "this machine". */
  target: string;
  close(): Promise<void>;
}

/** Opens the configured connection now (so a login's prompts come first), telling `say` what it does. */
export async function openCluster(
  config: Config,
  prompter: Prompter,
  say: (line: string) => void,
): Promise<ClusterSession> {
  const transport = createTransport(config.cluster, prompter, () => {});
  const target = transport instanceof SshTransport ? transport.state.target : "this machine";
  if (transport instanceof SshTransport) {
    say(`Connecting to ${target} …`);
    const t0 = Date.now();
    try {
      await transport.connect();
    } catch (err) {
      await transport.close().catch(() => {});
      throw err;
    }
    say(`✓ connected to ${target} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const scheduler = new SlurmScheduler(transport, { minIntervalMs: 1000, maxIntervalMs: 5000 });
  return {
    config,
    transport,
    discovery: new ClusterDiscovery(transport, config.slurm.discovery_ttl_seconds * 1000),
    scheduler,
    target,
    close: async () => {
      await scheduler.close();
      await transport.close().catch(() => {});
    },
  };
}
