/**
 * SSH-side helpers for the tests of the ssh transport against the test cluster's sshd: one-time
 * codes, answering login prompts in the notebook, ssh configs and known_hosts files of one's own,
 * and finding (to kill) the sshd processes that serve one client's connection.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterEnv, SlurmServer } from "./slurm";
import { startKernel, WsKernelClient } from "./ws-client";
import type { WireMessage } from "./zmq-client";

/** The current TOTP code of the test user (the test sshd's "Passcode or option (1-1): "). */
export function totpCode(cluster: ClusterEnv): string {
  const file = cluster.ALPINE_TEST_TOTP_SECRET_FILE;
  if (!file)
    throw new Error("ALPINE_TEST_TOTP_SECRET_FILE is not set: run scripts/test-cluster/up.sh as root");
  try {
    return execFileSync("oathtool", ["--totp", "-b", readFileSync(file, "utf8").trim()], {
      encoding: "utf8",
    }).trim();
  } catch (err) {
    throw new Error(
      `oathtool failed (apt-get install oathtool; scripts/install-system-deps.sh installs it): ${(err as Error).message}`,
    );
  }
}

/** A six-digit code that is certainly not the current one. */
export function wrongCode(cluster: ClusterEnv): string {
  return String((Number(totpCode(cluster)) + 500_000) % 1_000_000).padStart(6, "0");
}

/** SHA256:… of the test sshd's host key, as ssh-keygen -l prints it. */
export function hostKeyFingerprint(cluster: ClusterEnv): string {
  const blob = Buffer.from((cluster.ALPINE_TEST_HOST_KEY ?? "").split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * An ssh config file in `dir` with the test cluster's Hosts plus `extra` (Host blocks of one's own).
 * Returns its path.
 */
export function writeSshConfig(
  cluster: ClusterEnv,
  dir: string,
  extra: string,
  includeTestHosts = true,
): string {
  const base = includeTestHosts ? readFileSync(cluster.ALPINE_TEST_SSH_CONFIG!, "utf8") : "";
  const path = join(dir, "ssh_config");
  writeFileSync(path, `${extra.trim()}\n\n${base}`);
  return path;
}

/** A Host block reaching alpineuser@127.0.0.1:`port`; `options` are more keyword lines. */
export function hostBlock(cluster: ClusterEnv, alias: string, port: number, options: string[]): string {
  return [
    `Host ${alias}`,
    "    HostName 127.0.0.1",
    `    Port ${port}`,
    `    User ${cluster.user}`,
    ...options.map((o) => `    ${o}`),
  ].join("\n");
}

export async function openKernel(server: SlurmServer, notebook: string): Promise<WsKernelClient> {
  const id = await startKernel(server, { KERNEL_WORKING_DIR: server.workDir, KERNEL_NOTEBOOK: notebook });
  return WsKernelClient.open(server, id, "v1");
}

export interface SeenPrompt {
  prompt: string;
  password: boolean;
  at: number;
}

/**
 * Answers every input_request of the cell `msgId` with `answer(prompt)` (no reply when it returns
 * undefined), as a person at the notebook would; `seen` lists the prompts in order.
 */
export function answerInNotebook(
  kernel: WsKernelClient,
  msgId: string,
  answer: (prompt: string) => string | undefined,
): { seen: SeenPrompt[]; stop(): void } {
  const seen: SeenPrompt[] = [];
  let next = 0;
  const timer = setInterval(() => {
    for (; next < kernel.received.length; next++) {
      const m: WireMessage = kernel.received[next]!;
      if (m.header.msg_type !== "input_request" || m.parent_header.msg_id !== msgId) continue;
      const prompt = String(m.content.prompt);
      seen.push({ prompt, password: m.content.password === true, at: m.at });
      const value = answer(prompt);
      if (value !== undefined) void kernel.send("stdin", "input_reply", { value }, m.header);
    }
  }, 20);
  timer.unref(); // a test that failed before stop() must not keep jest alive
  return { seen, stop: () => clearInterval(timer) };
}

/** Answers the test sshd's keyboard-interactive prompts: password, then the one-time code. */
export function loginAnswers(
  cluster: ClusterEnv,
  code: () => string = () => totpCode(cluster),
): (prompt: string) => string | undefined {
  return (prompt) =>
    /Password: $/.test(prompt)
      ? (cluster.ALPINE_TEST_PASSWORD ?? "alpinepass")
      : /Passcode or option \(1-1\): $/.test(prompt)
        ? code()
        : undefined;
}

interface TcpRow {
  localPort: number;
  remotePort: number;
  state: string;
  inode: string;
}

function tcpTable(): TcpRow[] {
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 10 && f[1]!.startsWith("0100007F:") && f[2]!.startsWith("0100007F:")) // 127.0.0.1 both ends
    .map((f) => ({
      localPort: parseInt(f[1]!.split(":")[1]!, 16),
      remotePort: parseInt(f[2]!.split(":")[1]!, 16),
      state: f[3]!,
      inode: f[9]!,
    }));
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes; // the process is gone
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

const ESTABLISHED = "01";

/** Server ports of the established 127.0.0.1 TCP connections `pid` opened (one per connection). */
export function tcpPeerPorts(pid: number): number[] {
  const mine = socketInodes(pid);
  return tcpTable()
    .filter((r) => mine.has(r.inode) && r.state === ESTABLISHED)
    .map((r) => r.remotePort);
}

/** Processes (pid, user, args) holding the server end of the connections `clientPid` made to `port`: the per-connection sshd ones. */
export function sshdOfConnection(clientPid: number, port: number): { pid: number; args: string }[] {
  const mine = socketInodes(clientPid);
  const rows = tcpTable();
  const clientPorts = new Set(
    rows
      .filter((r) => mine.has(r.inode) && r.remotePort === port && r.state === ESTABLISHED)
      .map((r) => r.localPort),
  );
  const serverInodes = new Set(
    rows.filter((r) => r.localPort === port && clientPorts.has(r.remotePort)).map((r) => r.inode),
  );
  return holders(serverInodes);
}

/** Processes holding the client end of a TCP connection to `port` that are not `exceptPid` (e.g. the jump host's sshd). */
export function otherClientsOf(port: number, exceptPid: number): { pid: number; args: string }[] {
  const rows = tcpTable().filter((r) => r.remotePort === port && r.state === ESTABLISHED);
  const mine = socketInodes(exceptPid);
  return holders(new Set(rows.map((r) => r.inode).filter((i) => !mine.has(i))));
}

function holders(inodes: Set<string>): { pid: number; args: string }[] {
  if (inodes.size === 0) return [];
  const out: { pid: number; args: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const held = socketInodes(pid);
    if (![...inodes].some((i) => held.has(i))) continue;
    try {
      out.push({ pid, args: readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim() });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/**
 * Cuts the SSH connection of `clientPid` to `port` from the server side, as a network drop or a
 * login node reboot would: SIGKILL to the per-connection sshd processes (never the listener).
 * Returns what was killed.
 */
export function killConnection(clientPid: number, port: number): { pid: number; args: string }[] {
  const procs = sshdOfConnection(clientPid, port);
  if (procs.length === 0)
    throw new Error(`no sshd process serves a connection of pid ${clientPid} to port ${port}`);
  const listener = Number(readFileSync("/tmp/alpine-kernel-test-cluster/run/ssh/sshd.pid", "utf8").trim());
  for (const p of procs) {
    if (p.pid === listener || /\[listener\]/.test(p.args))
      throw new Error(`refusing to kill the listening sshd (${p.args})`);
    process.kill(p.pid, "SIGKILL");
  }
  return procs;
}

/** Every file under `dir` (the server's data directory: log, ledger, sessions), as text. */
export function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...filesUnder(path));
    else if (st.isFile()) out.push({ path, text: readFileSync(path, "latin1") });
  }
  return out;
}

/**
 * The places where `secrets` were found in the server's log (stderr and log file), its own
 * directory (config, data: ledger and log, runtime) and its work dir on the cluster: [] when none.
 */
export function secretsFound(server: SlurmServer, secrets: string[]): string[] {
  const sources = [
    { path: "server stderr + log", text: server.log() },
    ...filesUnder(server.dir),
    ...filesUnder(server.workDir),
  ];
  const found: string[] = [];
  for (const s of secrets) {
    const re = new RegExp(`(?<![0-9A-Za-z])${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![0-9A-Za-z])`);
    for (const src of sources) if (re.test(src.text)) found.push(`${JSON.stringify(s)} in ${src.path}`);
  }
  return found;
}
