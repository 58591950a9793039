/**
 * The real test cluster (scripts/test-cluster/up.sh) and an alpine-kernel server on the slurm
 * backend. `transport: "local"` (the default) runs the server as the cluster's ordinary user, as it
 * would on Alpine itself; `transport: "ssh"` runs it as root on "a laptop" that reaches
 * alpineuser@127.0.0.1 through the test sshd (key only, port 2222, unless told otherwise) with the
 * test ssh config. A cluster that is not up makes the test FAIL with the command that brings it up.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, requireBuilt } from "./env";

const ENV_FILE = "/tmp/alpine-kernel-test-cluster/run/env.sh";

export interface ClusterEnv {
  user: string;
  account: string;
  scratch: string;
  gpuPartition: string;
  [key: string]: string;
}

/** ALPINE_TEST_* from the cluster's env.sh; throws (the test fails) when the cluster is not up. */
export function requireCluster(): ClusterEnv {
  if (!existsSync(ENV_FILE))
    throw new Error(
      `the test cluster is not up (${ENV_FILE} missing): run scripts/test-cluster/up.sh as root`,
    );
  const vars: Record<string, string> = {};
  for (const m of readFileSync(ENV_FILE, "utf8").matchAll(/^export (ALPINE_TEST_\w+)=("([^"]*)"|(\S*))/gm))
    vars[m[1]!] = m[3] ?? m[4] ?? "";
  try {
    execFileSync("sinfo", ["-h", "-o", "%P"], { stdio: "pipe", timeout: 15_000 });
  } catch (err) {
    throw new Error(
      `Slurm does not answer (sinfo failed: ${(err as Error).message}); run scripts/test-cluster/up.sh as root`,
    );
  }
  return {
    ...vars,
    user: vars.ALPINE_TEST_USER ?? "alpineuser",
    account: vars.ALPINE_TEST_ACCOUNT ?? "ucb-general",
    scratch: vars.ALPINE_TEST_SCRATCH ?? "/scratch/alpine/alpineuser",
    gpuPartition: vars.ALPINE_TEST_GPU_PARTITION ?? "aa100",
  };
}

function uidOf(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

export type TransportKind = "local" | "ssh";

export interface SshServerOptions {
  /** Host alias in the ssh config: alpine-test-key (default; key only), alpine-test-2fa, alpine-test-key2fa. */
  host?: string;
  /** The ssh config file (default the test cluster's, $ALPINE_TEST_SSH_CONFIG). */
  sshConfig?: string;
  /** More keys of the `cluster:` section (prompt_timeout_seconds, host_key_policy, ...). */
  cluster?: Record<string, string | number>;
}

export interface SlurmServerOptions {
  productionPolling?: boolean;
  transport?: TransportKind;
  ssh?: SshServerOptions;
  /** server.log_level (default info). */
  logLevel?: string;
  /** More environment for an ssh server (SSH_AUTH_SOCK: none unless given). */
  env?: Record<string, string>;
  /** Start in this server's directory again (its configuration, ledger and work_dir): a restart. */
  reuse?: { dir: string; workDir: string };
}

export interface SlurmServer {
  url: string;
  token: string;
  /** The server's own directory: config.yaml, data/ (log, ledger), runtime/, home/ (ssh servers). */
  dir: string;
  workDir: string;
  transport: TransportKind;
  proc: ChildProcess;
  /** Environment for the CLI (`alpine-kernel login/status/logout`) to find this server. */
  cliEnv: NodeJS.ProcessEnv;
  metrics(): Promise<{
    transport: string;
    commands: Record<string, number>;
    fileOps: Record<string, number>;
    cellsInFlight: number;
  }>;
  /** GET /api/connection: the cluster connection's state and the login prompts waiting. */
  connection(): Promise<ConnectionView>;
  /** Cancels the jobs this server submitted (those whose script lives in its work_dir). */
  cancelJobs(): void;
  /** Kills the server with SIGKILL and starts another on the same directory and ledger (stop() the new one). */
  killAndRestart(): Promise<SlurmServer>;
  stop(): Promise<void>;
  log(): string;
}

export interface ConnectionView {
  transport: string;
  user: string;
  state: { status: string; target: string; since: string; lastError?: string; logins: number };
  prompts: {
    id: string;
    request: {
      kind: string;
      target: string;
      instructions: string;
      prompts: { prompt: string; echo: boolean }[];
    };
  }[];
}

/** The Slurm section and environment every test server gets; `extra` YAML is appended. */
export function slurmConfig(
  cluster: ClusterEnv,
  workDir: string,
  extra = "",
  productionPolling = false,
): string {
  return [
    "backend: slurm",
    `work_dir: ${workDir}`,
    "environment:",
    "  modules: [miniforge]",
    "  conda_env: alpine-kernel",
    "  python: python",
    "slurm:",
    '  defaults: "--time 0:10:00 --mem 1G"',
    ...(productionPolling ? [] : ["  poll_min_seconds: 0.5", "  poll_max_seconds: 5"]),
    "  profiles:",
    `    gpu: "-p ${cluster.gpuPartition} --gres gpu:1"`,
    extra,
  ].join("\n");
}

/** The `cluster:` section of a server that reaches the test cluster over SSH. */
export function sshClusterConfig(cluster: ClusterEnv, ssh: SshServerOptions = {}): string {
  const sshConfig = ssh.sshConfig ?? cluster.ALPINE_TEST_SSH_CONFIG;
  if (!sshConfig || !existsSync(sshConfig))
    throw new Error(
      `the test cluster's ssh config is missing (${sshConfig ?? "ALPINE_TEST_SSH_CONFIG unset"}): run scripts/test-cluster/up.sh as root`,
    );
  const keys: Record<string, string | number> = {
    transport: "ssh",
    host: ssh.host ?? "alpine-test-key",
    ssh_config: sshConfig,
    ...ssh.cluster,
  };
  return [
    "cluster:",
    ...Object.entries(keys).map(([k, v]) => `  ${k}: ${typeof v === "number" ? v : JSON.stringify(v)}`),
  ].join("\n");
}

/**
 * Starts `alpine-kernel serve` with a slurm configuration: as the cluster's ordinary user (local
 * transport), or as root reaching the cluster's user over SSH.
 */
export async function startSlurmServer(
  cluster: ClusterEnv,
  extraConfig = "",
  configText?: string,
  opts: SlurmServerOptions = {},
): Promise<SlurmServer> {
  requireBuilt();
  const transport = opts.transport ?? "local";
  const { uid, gid } = uidOf(cluster.user);
  const dir = opts.reuse?.dir ?? mkdtempSync(join(tmpdir(), `ak-slurm-${transport}-`));
  const workDir =
    opts.reuse?.workDir ?? join(cluster.scratch, `ak-test-${Date.now()}-${Math.floor(Math.random() * 1e6)}`);
  mkdirSync(workDir, { recursive: true });
  chownSync(workDir, uid, gid);
  const configPath = join(dir, "config.yaml");
  const extra = [
    extraConfig,
    transport === "ssh" ? sshClusterConfig(cluster, opts.ssh) : "",
    opts.logLevel ? `server:\n  log_level: ${opts.logLevel}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  if (!opts.reuse)
    writeFileSync(configPath, configText ?? slurmConfig(cluster, workDir, extra, opts.productionPolling));
  const runtime = join(dir, "runtime");
  const dataDir = join(dir, "data");
  const logFile = join(dataDir, "server.log");
  let env: Record<string, string>;
  let proc: ChildProcess;
  if (transport === "local") {
    chownSync(dir, uid, gid);
    chownSync(configPath, uid, gid);
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: `/home/${cluster.user}`,
      USER: cluster.user,
      ALPINE_KERNEL_CONFIG: configPath,
      ALPINE_KERNEL_DATA_DIR: dataDir,
      ALPINE_KERNEL_RUNTIME_DIR: runtime,
    };
    proc = spawn(
      "runuser",
      [
        "-u",
        cluster.user,
        "--",
        "env",
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        CLI,
        "serve",
        "--log-file",
        logFile,
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
  } else {
    // The laptop: its own HOME (no ~/.ssh of the machine's root is read or written), no agent.
    const home = join(dir, "home");
    mkdirSync(home, { mode: 0o700 });
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      USER: "root",
      ALPINE_KERNEL_CONFIG: configPath,
      ALPINE_KERNEL_DATA_DIR: dataDir,
      ALPINE_KERNEL_RUNTIME_DIR: runtime,
      ...opts.env,
    };
    proc = spawn(process.execPath, [CLI, "serve", "--log-file", logFile], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
  }
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const runtimeFile = join(runtime, "server.json");
  const deadline = Date.now() + 20_000;
  while (!existsSync(runtimeFile)) {
    if (Date.now() > deadline || proc.exitCode !== null)
      throw new Error(`the slurm-backend server (${transport} transport) did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url, token } = JSON.parse(readFileSync(runtimeFile, "utf8")) as { url: string; token: string };
  const headers = { Authorization: `token ${token}` };
  const get = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${url}${path}`, { headers })).json()) as T;
  return {
    url,
    token,
    dir,
    workDir,
    transport,
    proc,
    cliEnv: { ...env, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    log: () => stderr + (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    metrics: () => get("/api/metrics"),
    connection: () => get("/api/connection"),
    cancelJobs: () => cancelJobsUnder(cluster, workDir),
    killAndRestart: async () => {
      const { pid } = JSON.parse(readFileSync(runtimeFile, "utf8")) as { pid: number };
      const exited = new Promise((r) => proc.once("exit", r));
      process.kill(pid, "SIGKILL");
      await exited;
      rmSync(runtimeFile, { force: true });
      return startSlurmServer(cluster, extraConfig, configText, { ...opts, reuse: { dir, workDir } });
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        const kill = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(kill);
      }
      if (process.env.AK_KEEP_TEST_DIRS === "1") process.stderr.write(`kept ${dir} (AK_KEEP_TEST_DIRS=1)\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Cancels the test user's jobs whose batch script lives under `dir` (one server's jobs, not other tests'). */
export function cancelJobsUnder(cluster: ClusterEnv, dir: string): void {
  try {
    const lines = execFileSync("squeue", ["-h", "-u", cluster.user, "-o", "%i|%o"], {
      encoding: "utf8",
      timeout: 15_000,
    }).split("\n");
    const ids = lines
      .filter((l) => l.split("|")[1]?.startsWith(`${dir}/`))
      .map((l) => l.split("|")[0]!.replace(/_.*$/, ""));
    if (ids.length)
      execFileSync("runuser", ["-u", cluster.user, "--", "scancel", ...new Set(ids)], {
        stdio: "ignore",
        timeout: 15_000,
      });
  } catch {
    // nothing to cancel
  }
}

/** Cancels every job of the test user still queued (cleanup after a failing test). */
export function cancelUserJobs(cluster: ClusterEnv): void {
  try {
    execFileSync("scancel", ["-u", cluster.user], { stdio: "ignore", timeout: 15_000 });
  } catch {
    // nothing to cancel
  }
}

/** The text of stream messages, joined. */
export function streamText(
  iopub: { header: { msg_type: string }; content: Record<string, unknown> }[],
  name = "stdout",
): string {
  return iopub
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => String(m.content.text))
    .join("");
}
