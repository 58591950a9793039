/**
 * work_dir expansion on the cluster: ~, $HOME and $USER are the cluster's. The home directory is
 * what SFTP's realpath(".") said on the first connection; here it is set as if it had (no
 * connection is opened: an absolute path needs none, and the others use the home already known).
 */
import type { Prompter } from "../../../src/cluster/prompts";
import type { ResolvedHost } from "../../../src/cluster/ssh-host-config";
import { SshTransport } from "../../../src/cluster/ssh-transport";

const host: ResolvedHost = {
  alias: "alpine",
  hostName: "127.0.0.1",
  port: 1, // nothing listens: a test that tried to connect would fail
  user: "ralphie",
  identityFiles: [],
  explicitIdentity: false,
  userKnownHostsFiles: [],
  strictHostKeyChecking: "yes",
  identitiesOnly: true,
};

/** These tests never connect: a prompt would be a bug. */
const nobody: Prompter = { ask: () => Promise.reject(new Error("no prompt expected")) };

function transport(home?: string): SshTransport {
  const t = new SshTransport(host, { prompter: nobody, readyTimeoutMs: 1000 });
  if (home) Object.assign(t, { home });
  return t;
}

const cases: [string, string][] = [
  ["~", "/home/ralphie"],
  ["~/alpine-kernel", "/home/ralphie/alpine-kernel"],
  ["$HOME/alpine-kernel", "/home/ralphie/alpine-kernel"],
  ["${HOME}/alpine-kernel", "/home/ralphie/alpine-kernel"],
  ["/scratch/alpine/$USER/alpine-kernel", "/scratch/alpine/ralphie/alpine-kernel"],
  ["/scratch/alpine/${USER}/ak", "/scratch/alpine/ralphie/ak"],
  ["/projects/$USER/$USER", "/projects/ralphie/ralphie"],
  ["alpine-kernel", "/home/ralphie/alpine-kernel"],
  ["work/$USER", "/home/ralphie/work/ralphie"],
  ["/data/$USERNAME", "/data/$USERNAME"],
  ["work/a~b", "/home/ralphie/work/a~b"],
];
test.each(cases)("%s → %s", async (path, resolved) => {
  const t = transport("/home/ralphie");
  await expect(t.resolvePath(path)).resolves.toBe(resolved);
  await t.close();
});

test("an absolute path without variables needs no connection", async () => {
  const t = transport();
  await expect(t.resolvePath("/scratch/alpine/ralphie")).resolves.toBe("/scratch/alpine/ralphie");
  expect(t.state.status).toBe("disconnected");
  await t.close();
});
