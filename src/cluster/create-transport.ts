/** The cluster connection a configuration asks for: this machine, or one SSH connection. */
import type { Config } from "../config/config";
import { expandPath } from "../config/paths";
import { LocalTransport } from "./local-transport";
import type { Prompter } from "./prompts";
import { resolveSshHost } from "./ssh-host-config";
import { SshTransport } from "./ssh-transport";
import type { Transport } from "./transport";

export function createTransport(
  cluster: Config["cluster"],
  prompter: Prompter,
  log: (message: string) => void,
): Transport {
  if (cluster.transport === "local") return new LocalTransport();
  const host = resolveSshHost(cluster.host!, {
    configPath: cluster.ssh_config ? expandPath(cluster.ssh_config) : undefined,
    user: cluster.user,
    port: cluster.port,
  });
  if (cluster.identity_file) host.identityFiles = [...host.identityFiles, expandPath(cluster.identity_file)];
  return new SshTransport(host, {
    prompter,
    hostKeyPolicy: cluster.host_key_policy,
    agent: process.env.SSH_AUTH_SOCK,
    maxChannels: cluster.max_channels,
    log,
  });
}
