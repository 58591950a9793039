/**
 * The SSH connection dies while a cell runs (the per-connection sshd is killed on the cluster's
 * side, as a dropped network or a rebooted login node would): the server connects again and the
 * cell, still running on its node, keeps streaming from the byte offset where it was — every line
 * once, in order — with one sbatch only. On the two-factor port, the new login asks for password
 * and code again in the notebook. And ProxyJump: a login reached through a jump host.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../helpers/processes";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
  type SshServerOptions,
} from "../helpers/slurm";
import {
  answerInNotebook,
  hostBlock,
  killConnection,
  loginAnswers,
  openKernel,
  otherClientsOf,
  sshdOfConnection,
  tcpPeerPorts,
  writeSshConfig,
} from "../helpers/ssh";
import type { WsKernelClient } from "../helpers/ws-client";

const LINES = 27; // one every 0.3 s: ~8 s
const COUNTING = `import time\nfor i in range(${LINES}):\n    print(f'line {i}', flush=True)\n    time.sleep(0.3)`;
const EXPECTED = Array.from({ length: LINES }, (_, i) => `line ${i}\n`).join("");

let cluster: ClusterEnv;
let tmp: string;
const started: { server: SlurmServer; kernel: WsKernelClient }[] = [];

beforeAll(() => {
  cluster = requireCluster();
  tmp = mkdtempSync(join(tmpdir(), "ak-ssh-reconnect-"));
});
afterEach(async () => {
  for (const { server, kernel } of started.splice(0)) {
    kernel.close();
    server.cancelJobs();
    await server.stop();
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function serverWith(ssh: SshServerOptions): Promise<{ server: SlurmServer; kernel: WsKernelClient }> {
  const server = await startSlurmServer(cluster, "", undefined, { transport: "ssh", ssh });
  const kernel = await openKernel(server, "reconnect.ipynb").catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  started.push({ server, kernel });
  return { server, kernel };
}

/**
 * Runs the counting cell, cuts the connection once "line 5" has arrived, and returns what the
 * notebook got. `port` is the sshd port the server's connection goes to.
 */
async function countThroughACut(
  server: SlurmServer,
  kernel: WsKernelClient,
  port: number,
  answer?: (prompt: string) => string | undefined,
) {
  const sbatchBefore = (await server.metrics()).commands.sbatch ?? 0;
  const msgId = await kernel.startExecute(COUNTING, { allowStdin: true });
  const person = answer ? answerInNotebook(kernel, msgId, answer) : undefined;
  await kernel.waitFor(
    "line 5 of the cell",
    () => streamText(kernel.iopubFor(msgId)).includes("line 5\n"),
    60_000,
  );
  const loginsBefore = (await server.connection()).state.logins;
  const killed = killConnection(server.proc.pid!, port);
  const cutAt = streamText(kernel.iopubFor(msgId)).split("\n").length - 1;
  await waitFor(
    "the server to notice the cut",
    async () => {
      const { state } = await server.connection();
      return state.status !== "connected" || state.logins > loginsBefore;
    },
    20_000,
  );
  const reply = await kernel.reply(msgId, 120_000);
  await kernel.idle(msgId, 10_000);
  person?.stop();
  return {
    msgId,
    reply,
    text: streamText(kernel.iopubFor(msgId)),
    stderr: streamText(kernel.iopubFor(msgId), "stderr"),
    killed,
    cutAt,
    loginsBefore,
    prompts: person?.seen ?? [],
    sbatch: ((await server.metrics()).commands.sbatch ?? 0) - sbatchBefore,
  };
}

describe("ssh transport: the connection drops mid-cell", () => {
  test("key login: reconnects by itself; every line arrives exactly once and in order, one sbatch", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-key" });
    const r = await countThroughACut(server, kernel, 2222);
    expect(r.killed.some((p) => /sshd.*alpineuser/.test(p.args))).toBe(true);
    expect(r.cutAt).toBeLessThan(LINES - 5); // the cut came well before the end
    expect(r.reply.content.status).toBe("ok");
    expect(r.text).toBe(EXPECTED);
    expect(r.sbatch).toBe(1);
    const conn = await server.connection();
    expect(conn.state).toMatchObject({ status: "connected", logins: r.loginsBefore + 1 });
    // A new connection, served by new sshd processes.
    const now = sshdOfConnection(server.proc.pid!, 2222).map((p) => p.pid);
    expect(now.length).toBeGreaterThan(0);
    expect(now.filter((pid) => r.killed.some((k) => k.pid === pid))).toEqual([]);
    // The notebook carries on over the new connection.
    expect(streamText((await kernel.execute("print('after')", { timeoutMs: 60_000 })).iopub)).toBe("after\n");
  });

  test("password + code login: the reconnect asks for password and code again in the notebook; no line lost or repeated", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-2fa" });
    const r = await countThroughACut(server, kernel, 2223, loginAnswers(cluster));
    expect(r.reply.content.status).toBe("ok");
    expect(r.text).toBe(EXPECTED);
    expect(r.sbatch).toBe(1);
    const target = `${cluster.user}@127.0.0.1:2223`;
    expect(r.prompts.map((p) => p.prompt)).toEqual([
      `${target} — Password: `,
      `${target} — Passcode or option (1-1): `,
      `${target} — Password: `,
      `${target} — Passcode or option (1-1): `,
    ]);
    expect(r.prompts.every((p) => p.password)).toBe(true);
    expect((await server.connection()).state).toMatchObject({ status: "connected", logins: 2 });
  });
});

describe("ssh transport: ProxyJump", () => {
  test("a login node reached through a jump host (ProxyJump alpine-test-key → 127.0.0.1:2223) runs cells; only the jump host is dialled directly; a cut at the jump host is survived too", async () => {
    const dir = mkdtempSync(join(tmp, "jump-"));
    const config = writeSshConfig(
      cluster,
      dir,
      hostBlock(cluster, "alpine-behind-jump", 2223, [
        "ProxyJump alpine-test-key",
        `UserKnownHostsFile ${cluster.ALPINE_TEST_KNOWN_HOSTS}`,
        "StrictHostKeyChecking yes",
      ]),
    );
    expect(readFileSync(config, "utf8")).toContain("Host alpine-test-key\n"); // the hop's own block
    const { server, kernel } = await serverWith({ host: "alpine-behind-jump", sshConfig: config });
    const msgId = await kernel.startExecute("import getpass\nprint(getpass.getuser())", { allowStdin: true });
    const person = answerInNotebook(kernel, msgId, loginAnswers(cluster));
    const reply = await kernel.reply(msgId, 60_000);
    person.stop();
    expect(reply.content.status).toBe("ok");
    expect(streamText(kernel.iopubFor(msgId))).toBe(`${cluster.user}\n`);
    // The jump host (key, 2222) needs no person; the login node behind it (2223) asks password and code.
    expect(person.seen.map((p) => p.prompt)).toEqual([
      `${cluster.user}@127.0.0.1:2223 — Password: `,
      `${cluster.user}@127.0.0.1:2223 — Passcode or option (1-1): `,
    ]);
    const pid = server.proc.pid!;
    expect(tcpPeerPorts(pid).filter((p) => p === 2222 || p === 2223)).toEqual([2222]);
    // The connection to 2223 comes from the jump host's sshd, not from us.
    const jumpSide = otherClientsOf(2223, pid);
    const jumpSshd = sshdOfConnection(pid, 2222).map((p) => p.pid);
    expect(jumpSide.some((p) => jumpSshd.includes(p.pid))).toBe(true);
    expect((await server.connection()).state).toMatchObject({
      status: "connected",
      logins: 1,
      target: `${cluster.user}@127.0.0.1:2223`,
    });

    // The jump host drops us mid-cell: both hops are opened again, the login node asks again,
    // and the cell's output goes on where it was.
    const r = await countThroughACut(server, kernel, 2222, loginAnswers(cluster));
    expect(r.reply.content.status).toBe("ok");
    expect(r.text).toBe(EXPECTED);
    expect(r.sbatch).toBe(1);
    expect(r.prompts.map((p) => p.prompt)).toEqual([
      `${cluster.user}@127.0.0.1:2223 — Password: `,
      `${cluster.user}@127.0.0.1:2223 — Passcode or option (1-1): `,
    ]);
    expect((await server.connection()).state).toMatchObject({ status: "connected", logins: 2 });
    expect(tcpPeerPorts(pid).filter((p) => p === 2222 || p === 2223)).toEqual([2222]);
  });
});
