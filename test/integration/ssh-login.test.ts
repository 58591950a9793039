/**
 * Logging in to the cluster over SSH, against the test cluster's real sshd (127.0.0.1: 2222 key
 * only, 2223 password + one-time code, 2224 key + code), with the server running as root on "a
 * laptop" and the cells running as alpineuser: the login prompts reach the person in the notebook
 * (input_request, hidden for secrets) or in `alpine-kernel login`; a wrong code, an unanswered
 * prompt, an unknown or changed host key each give a clear error and nothing is submitted; no
 * password or code is ever written to the server's log, ledger or files; `status` and `logout`.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../helpers/env";
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
  hostKeyFingerprint,
  loginAnswers,
  openKernel,
  secretsFound,
  sshdOfConnection,
  totpCode,
  writeSshConfig,
  wrongCode,
} from "../helpers/ssh";
import type { WsKernelClient } from "../helpers/ws-client";

const WHOAMI = "import getpass\nprint(getpass.getuser())";

let cluster: ClusterEnv;
let tmp: string;
const started: { server: SlurmServer; kernels: WsKernelClient[] }[] = [];
/** Every code typed in this file: none may end up in a log or file. */
const codes = new Set<string>();

beforeAll(() => {
  cluster = requireCluster();
  tmp = mkdtempSync(join(tmpdir(), "ak-ssh-login-"));
});
afterEach(async () => {
  for (const { server, kernels } of started.splice(0)) {
    for (const k of kernels) k.close();
    server.cancelJobs();
    await server.stop();
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function serverWith(ssh: SshServerOptions): Promise<{ server: SlurmServer; kernel: WsKernelClient }> {
  const server = await startSlurmServer(cluster, "", undefined, { transport: "ssh", ssh, logLevel: "trace" });
  const entry = { server, kernels: [] as WsKernelClient[] };
  started.push(entry);
  const kernel = await openKernel(server, "login.ipynb");
  entry.kernels.push(kernel);
  return { server, kernel };
}

const code = () => {
  const c = totpCode(cluster);
  codes.add(c);
  return c;
};

const cli = (server: SlurmServer, ...args: string[]) =>
  execFileSync(process.execPath, [CLI, ...args], { env: server.cliEnv, encoding: "utf8", timeout: 60_000 });

/** The password and codes typed so far appear nowhere in the server's log or data, nor in the work dir. */
function expectNoSecrets(server: SlurmServer): void {
  const secrets = [cluster.ALPINE_TEST_PASSWORD ?? "alpinepass", ...codes];
  expect(secretsFound(server, secrets)).toEqual([]);
  expect(server.log()).toMatch(/logged in to|server listening/); // the log is there and was read
}

/** Running the cell again, answering password and code in the notebook, logs in; no secret was kept. */
async function expectRetryLogsIn(server: SlurmServer, kernel: WsKernelClient): Promise<void> {
  const retry = await kernel.startExecute(WHOAMI, { allowStdin: true });
  const person = answerInNotebook(kernel, retry, loginAnswers(cluster, code));
  const ok = await kernel.reply(retry, 60_000);
  person.stop();
  expect(ok.content.status).toBe("ok");
  expectNoSecrets(server);
}

describe("ssh transport: logging in", () => {
  test("key only: the first cell connects and runs as the cluster's user; status shows it; logout closes it and the next cell connects again", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-key" });
    expect((await server.connection()).state).toMatchObject({ status: "disconnected", logins: 0 });
    const r = await kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
    expect(r.reply.content.status).toBe("ok");
    expect(streamText(r.iopub)).toBe(`${cluster.user}\n`);
    expect(kernel.received.filter((m) => m.header.msg_type === "input_request")).toEqual([]); // a key needs no person
    expect((await server.connection()).state).toMatchObject({
      status: "connected",
      logins: 1,
      target: `${cluster.user}@127.0.0.1:2222`,
    });
    expect(sshdOfConnection(server.proc.pid!, 2222).length).toBeGreaterThan(0);

    expect(cli(server, "status")).toMatch(
      new RegExp(`cluster\\s+ssh ${cluster.user}@127\\.0\\.0\\.1:2222: connected since \\S+, 1 login\\(s\\)`),
    );
    expect(cli(server, "logout")).toMatch(new RegExp(`logged out of ${cluster.user}@127\\.0\\.0\\.1:2222`));
    expect(cli(server, "status")).toMatch(
      /cluster\s+ssh \S+: disconnected since \S+, 1 login\(s\) — logged out/,
    );
    // The connection is really closed on the cluster's side.
    await waitFor(
      "sshd to close our connection",
      () => sshdOfConnection(server.proc.pid!, 2222).length === 0,
      10_000,
    );

    const again = await kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
    expect(again.reply.content.status).toBe("ok");
    expect((await server.connection()).state).toMatchObject({ status: "connected", logins: 2 });
  });

  test("a passphrase-protected key: the passphrase is asked in the notebook (hidden), asked again when wrong, never logged", async () => {
    const dir = mkdtempSync(join(tmp, "passphrase-"));
    const key = join(dir, "id_ed25519");
    copyFileSync(cluster.ALPINE_TEST_KEY!, key);
    chmodSync(key, 0o600);
    const passphrase = "correct horse battery";
    execFileSync("ssh-keygen", ["-q", "-p", "-N", passphrase, "-f", key]); // the same key, encrypted
    const config = writeSshConfig(
      cluster,
      dir,
      hostBlock(cluster, "alpine-locked", 2222, [
        `IdentityFile ${key}`,
        "IdentitiesOnly yes",
        `UserKnownHostsFile ${cluster.ALPINE_TEST_KNOWN_HOSTS}`,
      ]),
    );
    const { server, kernel } = await serverWith({ host: "alpine-locked", sshConfig: config });
    const msgId = await kernel.startExecute(WHOAMI, { allowStdin: true });
    let tries = 0;
    const person = answerInNotebook(kernel, msgId, () => (++tries === 1 ? "wrong passphrase" : passphrase));
    const reply = await kernel.reply(msgId, 60_000);
    person.stop();
    expect(reply.content.status).toBe("ok");
    expect(streamText(kernel.iopubFor(msgId))).toBe(`${cluster.user}\n`);
    expect(person.seen.map((p) => p.prompt)).toEqual([
      `${cluster.user}@127.0.0.1:2222 — Passphrase for ${key}: `,
      `That passphrase did not decrypt the key.\n${cluster.user}@127.0.0.1:2222 — Passphrase for ${key}: `,
    ]);
    expect(person.seen.every((p) => p.password)).toBe(true);
    expect(secretsFound(server, [passphrase, "wrong passphrase"])).toEqual([]);
  });

  test("the SSH agent: a key held by ssh-agent logs in with no key file and no prompt", async () => {
    const dir = mkdtempSync(join(tmp, "agent-"));
    const sock = join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      await waitFor("ssh-agent's socket", () => existsSync(sock), 10_000);
      execFileSync("ssh-add", [cluster.ALPINE_TEST_KEY!], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: "ignore",
      });
      const config = writeSshConfig(
        cluster,
        dir,
        hostBlock(cluster, "alpine-agent", 2222, [`UserKnownHostsFile ${cluster.ALPINE_TEST_KNOWN_HOSTS}`]),
      );
      const server = await startSlurmServer(cluster, "", undefined, {
        transport: "ssh",
        ssh: { host: "alpine-agent", sshConfig: config },
        env: { SSH_AUTH_SOCK: sock },
      });
      const entry = { server, kernels: [] as WsKernelClient[] };
      started.push(entry);
      const kernel = await openKernel(server, "agent.ipynb");
      entry.kernels.push(kernel);
      const r = await kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
      expect(r.reply.content.status).toBe("ok");
      expect(streamText(r.iopub)).toBe(`${cluster.user}\n`);
      expect(kernel.received.filter((m) => m.header.msg_type === "input_request")).toEqual([]);
    } finally {
      agent.kill();
    }
  });

  test("password + one-time code, answered in the notebook: two hidden input_requests, then the cell runs", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-2fa" });
    const msgId = await kernel.startExecute(WHOAMI, { allowStdin: true });
    const person = answerInNotebook(kernel, msgId, loginAnswers(cluster, code));
    const reply = await kernel.reply(msgId, 60_000);
    person.stop();
    expect(reply.content.status).toBe("ok");
    expect(streamText(kernel.iopubFor(msgId))).toBe(`${cluster.user}\n`);
    expect(person.seen.map((p) => p.prompt)).toEqual([
      `${cluster.user}@127.0.0.1:2223 — Password: `,
      `${cluster.user}@127.0.0.1:2223 — Passcode or option (1-1): `,
    ]);
    expect(person.seen.every((p) => p.password)).toBe(true); // sshd asks both without echo
    expect((await server.connection()).state).toMatchObject({
      status: "connected",
      logins: 1,
      target: `${cluster.user}@127.0.0.1:2223`,
    });
    // Later cells use the same connection: no more prompts.
    const next = await kernel.execute("print('again')", { allowStdin: true, timeoutMs: 60_000 });
    expect(next.reply.content.status).toBe("ok");
    expect(kernel.received.filter((m) => m.header.msg_type === "input_request")).toHaveLength(2);
    expectNoSecrets(server);
  });

  test("password + one-time code, answered through `alpine-kernel login` on the command line", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-2fa" });
    const login = spawn(process.execPath, [CLI, "login", "--timeout", "60"], {
      env: server.cliEnv,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const asked: string[] = [];
    login.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    login.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      // A prompt is the text after the last newline; answer each once, as a person would.
      const last = stderr.slice(stderr.lastIndexOf("\n") + 1);
      if (/Password: $/.test(last) && !asked.includes("password")) {
        asked.push("password");
        login.stdin.write(`${cluster.ALPINE_TEST_PASSWORD}\n`);
      } else if (/Passcode or option \(1-1\): $/.test(last) && !asked.includes("code")) {
        asked.push("code");
        login.stdin.write(`${code()}\n`);
      }
    });
    const exitCode = await new Promise<number | null>((r) => login.once("exit", r));
    expect(`exit ${exitCode}\n${stdout}${stderr}`).toMatch(/^exit 0\n/);
    expect(asked).toEqual(["password", "code"]);
    expect(stderr).toContain(`Connecting to ${cluster.user}@127.0.0.1:2223`);
    expect(stdout).toMatch(new RegExp(`✓ connected to ${cluster.user}@127\\.0\\.0\\.1:2223 in [\\d.]+ s`));
    expect(stdout + stderr).not.toContain(cluster.ALPINE_TEST_PASSWORD!); // nothing typed is echoed
    // The long poll the command line waits on answers at once when something changed since the
    // client's last look (a prompt or "connected" that came between its answer and its next poll).
    const poll = async (query: string) => {
      const t0 = Date.now();
      const res = await fetch(`${server.url}/api/connection/prompts?${query}`, {
        headers: { Authorization: `token ${server.token}` },
      });
      return {
        ms: Date.now() - t0,
        view: (await res.json()) as { version: number; state: { status: string } },
      };
    };
    const now = await poll("wait=0");
    expect(now.view.version).toBeGreaterThan(0);
    const stale = await poll(`wait=20&since=${now.view.version - 1}`);
    expect(stale.ms).toBeLessThan(2000);
    expect(stale.view.state.status).toBe("connected");
    expect((await poll(`wait=1&since=${now.view.version}`)).ms).toBeGreaterThanOrEqual(900); // nothing new: it waits

    // The notebook then runs cells with no prompt at all, over that login.
    const r = await kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
    expect(r.reply.content.status).toBe("ok");
    expect(kernel.received.filter((m) => m.header.msg_type === "input_request")).toEqual([]);
    expect((await server.connection()).state).toMatchObject({ status: "connected", logins: 1 });
    expectNoSecrets(server);
  });

  test("key + password + code (2224, as for CU Anschutz): the key first, then the prompts; without the key, refused before any prompt", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-key2fa" });
    const msgId = await kernel.startExecute(WHOAMI, { allowStdin: true });
    const person = answerInNotebook(kernel, msgId, loginAnswers(cluster, code));
    const reply = await kernel.reply(msgId, 60_000);
    person.stop();
    expect(reply.content.status).toBe("ok");
    expect(person.seen.map((p) => p.prompt)).toEqual([
      `${cluster.user}@127.0.0.1:2224 — Password: `,
      `${cluster.user}@127.0.0.1:2224 — Passcode or option (1-1): `,
    ]);
    expect((await server.connection()).state).toMatchObject({ status: "connected", logins: 1 });
    expectNoSecrets(server);

    // The same port without a key: sshd accepts nothing else first, so no one is asked anything.
    const dir = mkdtempSync(join(tmp, "nokey-"));
    const config = writeSshConfig(
      cluster,
      dir,
      hostBlock(cluster, "alpine-nokey", 2224, [
        "IdentityFile /nonexistent/key",
        "IdentitiesOnly yes",
        `UserKnownHostsFile ${cluster.ALPINE_TEST_KNOWN_HOSTS}`,
      ]),
    );
    const keyless = await serverWith({ host: "alpine-nokey", sshConfig: config });
    const refusedId = await keyless.kernel.startExecute(WHOAMI, { allowStdin: true });
    const nobody = answerInNotebook(keyless.kernel, refusedId, loginAnswers(cluster, code));
    const refused = await keyless.kernel.reply(refusedId, 60_000);
    nobody.stop();
    expect(refused.content).toMatchObject({ status: "error", ename: "AuthFailed" });
    expect(String(refused.content.evalue)).toMatch(/refused the login.*alpine-kernel login/s);
    expect(nobody.seen).toEqual([]);
  });

  test("a wrong code: AuthFailed in the cell with what to do, nothing submitted; running the cell again logs in", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-2fa" });
    const bad = wrongCode(cluster);
    codes.add(bad);
    const first = await kernel.startExecute(WHOAMI, { allowStdin: true });
    const person = answerInNotebook(
      kernel,
      first,
      loginAnswers(cluster, () => bad),
    );
    const reply = await kernel.reply(first, 60_000);
    person.stop();
    expect(reply.content).toMatchObject({ status: "error", ename: "AuthFailed" });
    expect(String(reply.content.evalue)).toMatch(
      /refused the login: the password or passcode was not accepted.*alpine-kernel login/s,
    );
    expect(
      kernel.iopubFor(first).some((m) => m.header.msg_type === "error" && m.content.ename === "AuthFailed"),
    ).toBe(true);
    expect((await server.connection()).state).toMatchObject({ status: "failed", logins: 0 });
    expect((await server.metrics()).commands.sbatch ?? 0).toBe(0);

    const retry = await kernel.startExecute(WHOAMI, { allowStdin: true });
    const again = answerInNotebook(kernel, retry, loginAnswers(cluster, code));
    const ok = await kernel.reply(retry, 60_000);
    again.stop();
    expect(ok.content.status).toBe("ok");
    expect(again.seen).toHaveLength(2);
    expect(streamText(kernel.iopubFor(retry))).toBe(`${cluster.user}\n`);
    expect((await server.metrics()).commands.sbatch).toBe(1);
    expectNoSecrets(server);
  });

  test("nobody answers: PromptTimeout after prompt_timeout_seconds, saying how to log in; answering next time works", async () => {
    const { server, kernel } = await serverWith({
      host: "alpine-test-2fa",
      cluster: { prompt_timeout_seconds: 2 },
    });
    const first = await kernel.startExecute(WHOAMI, { allowStdin: true });
    const nobody = answerInNotebook(kernel, first, () => undefined);
    const reply = await kernel.reply(first, 60_000);
    nobody.stop();
    expect(nobody.seen.map((p) => p.prompt)).toEqual([`${cluster.user}@127.0.0.1:2223 — Password: `]);
    expect(reply.content).toMatchObject({ status: "error", ename: "PromptTimeout" });
    expect(String(reply.content.evalue)).toMatch(
      /nobody answered the login prompt "Password:" for \S+@127\.0\.0\.1:2223 within 2 s; run `alpine-kernel login`, or run the cell again and answer in the notebook/,
    );
    expect((await server.metrics()).commands.sbatch ?? 0).toBe(0);

    await expectRetryLogsIn(server, kernel);
  });

  test("Stop pressed while a login prompt waits: PromptCancelled at once, saying how to log in; answering next time works", async () => {
    const { server, kernel } = await serverWith({ host: "alpine-test-2fa" }); // prompts wait 300 s by default
    const first = await kernel.startExecute(WHOAMI, { allowStdin: true });
    const nobody = answerInNotebook(kernel, first, () => undefined);
    await waitFor("the Password prompt", () => nobody.seen.length > 0, 30_000);
    await kernel.request("interrupt_request", {}, "control");
    const reply = await kernel.reply(first, 20_000);
    nobody.stop();
    expect(nobody.seen.map((p) => p.prompt)).toEqual([`${cluster.user}@127.0.0.1:2223 — Password: `]);
    expect(reply.content).toMatchObject({ status: "error", ename: "PromptCancelled" });
    expect(String(reply.content.evalue)).toMatch(/the login was cancelled .*alpine-kernel login/);
    expect((await server.connection()).prompts).toEqual([]);

    await expectRetryLogsIn(server, kernel);
  });

  test("an unknown host key is refused with its SHA256 fingerprint and how to accept it; accept-new records it; a hashed entry matches", async () => {
    const dir = mkdtempSync(join(tmp, "unknown-"));
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, "");
    const config = writeSshConfig(
      cluster,
      dir,
      hostBlock(cluster, "alpine-fresh", 2222, [
        `IdentityFile ${cluster.ALPINE_TEST_KEY}`,
        "IdentitiesOnly yes",
        `UserKnownHostsFile ${knownHosts}`,
        "StrictHostKeyChecking yes",
      ]),
    );
    const strict = await serverWith({ host: "alpine-fresh", sshConfig: config });
    const r = await strict.kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
    expect(r.reply.content).toMatchObject({ status: "error", ename: "UnknownHostKey" });
    const evalue = String(r.reply.content.evalue);
    expect(evalue).toContain(`[127.0.0.1]:2222`);
    expect(evalue).toContain(hostKeyFingerprint(cluster));
    expect(evalue).toMatch(/host_key_policy: accept-new/);
    expect(readFileSync(knownHosts, "utf8")).toBe(""); // nothing recorded
    expect((await strict.server.metrics()).commands.sbatch ?? 0).toBe(0);

    const accepting = await serverWith({
      host: "alpine-fresh",
      sshConfig: config,
      cluster: { host_key_policy: "accept-new" },
    });
    const ok = await accepting.kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
    expect(ok.reply.content.status).toBe("ok");
    expect(readFileSync(knownHosts, "utf8")).toBe(`[127.0.0.1]:2222 ${cluster.ALPINE_TEST_HOST_KEY}\n`);

    // What was recorded is right: a strict server now connects; and so it does when the entry is hashed.
    execFileSync("ssh-keygen", ["-H", "-f", knownHosts], { stdio: "ignore" });
    expect(readFileSync(knownHosts, "utf8")).toMatch(/^\|1\|\S+\|\S+ ssh-ed25519 /);
    const hashed = await serverWith({ host: "alpine-fresh", sshConfig: config });
    expect(
      (await hashed.kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 })).reply.content.status,
    ).toBe("ok");
  });

  test("a changed host key is refused loudly (ChangedHostKey) and nothing is sent", async () => {
    const dir = mkdtempSync(join(tmp, "changed-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "impostor", "-f", join(dir, "other")]);
    const other = readFileSync(join(dir, "other.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, `[127.0.0.1]:2222 ${other}\n`);
    const config = writeSshConfig(
      cluster,
      dir,
      hostBlock(cluster, "alpine-moved", 2222, [
        `IdentityFile ${cluster.ALPINE_TEST_KEY}`,
        "IdentitiesOnly yes",
        `UserKnownHostsFile ${knownHosts}`,
        "StrictHostKeyChecking accept-new",
      ]),
    );
    // Even accept-new (from the ssh config and from ours) never accepts a CHANGED key.
    const { server, kernel } = await serverWith({
      host: "alpine-moved",
      sshConfig: config,
      cluster: { host_key_policy: "accept-new" },
    });
    const r = await kernel.execute(WHOAMI, { allowStdin: true, timeoutMs: 60_000 });
    expect(r.reply.content).toMatchObject({ status: "error", ename: "ChangedHostKey" });
    const evalue = String(r.reply.content.evalue);
    expect(evalue).toMatch(/WARNING: the host key of \[127\.0\.0\.1\]:2222 has CHANGED/);
    expect(evalue).toContain(hostKeyFingerprint(cluster));
    expect(evalue).toContain(`${knownHosts}:1`);
    expect(evalue).toMatch(/ssh-keygen -R/);
    expect(readFileSync(knownHosts, "utf8")).toBe(`[127.0.0.1]:2222 ${other}\n`);
    expect((await server.connection()).state).toMatchObject({ status: "failed", logins: 0 });
    expect((await server.metrics()).commands.sbatch ?? 0).toBe(0);
  });
});
