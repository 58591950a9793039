/**
 * The real test cluster (scripts/test-cluster/up.sh) and an alpine-kernel server on the slurm
 * backend that runs as the cluster's ordinary user, as it would on Alpine. A cluster that is not
 * up makes the test FAIL with the command that brings it up.
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
  if (!existsSync(ENV_FILE)) throw new Error(`the test cluster is not up (${ENV_FILE} missing): run scripts/test-cluster/up.sh as root`);
  const vars: Record<string, string> = {};
  for (const m of readFileSync(ENV_FILE, "utf8").matchAll(/^export (ALPINE_TEST_\w+)=("([^"]*)"|(\S*))/gm)) vars[m[1]!] = m[3] ?? m[4] ?? "";
  try {
    execFileSync("sinfo", ["-h", "-o", "%P"], { stdio: "pipe", timeout: 15_000 });
  } catch (err) {
    throw new Error(`Slurm does not answer (sinfo failed: ${(err as Error).message}); run scripts/test-cluster/up.sh as root`);
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

export interface SlurmServer {
  url: string;
  token: string;
  dir: string;
  workDir: string;
  proc: ChildProcess;
  metrics(): Promise<{ commands: Record<string, number>; cellsInFlight: number }>;
  stop(): Promise<void>;
  log(): string;
}

/** The Slurm section and environment every test server gets; `extra` YAML is appended. */
export function slurmConfig(cluster: ClusterEnv, workDir: string, extra = "", productionPolling = false): string {
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

/** Starts `alpine-kernel serve` as the cluster's ordinary user with a slurm configuration. */
export async function startSlurmServer(
  cluster: ClusterEnv,
  extraConfig = "",
  configText?: string,
  opts: { productionPolling?: boolean } = {},
): Promise<SlurmServer> {
  requireBuilt();
  const { uid, gid } = uidOf(cluster.user);
  const dir = mkdtempSync(join(tmpdir(), "ak-slurm-"));
  chownSync(dir, uid, gid);
  const workDir = join(cluster.scratch, `ak-test-${Date.now()}-${Math.floor(Math.random() * 1e6)}`);
  mkdirSync(workDir, { recursive: true });
  chownSync(workDir, uid, gid);
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, configText ?? slurmConfig(cluster, workDir, extraConfig, opts.productionPolling));
  chownSync(configPath, uid, gid);
  const runtime = join(dir, "runtime");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: `/home/${cluster.user}`,
    USER: cluster.user,
    ALPINE_KERNEL_CONFIG: configPath,
    ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
    ALPINE_KERNEL_RUNTIME_DIR: runtime,
  };
  const proc = spawn("runuser", ["-u", cluster.user, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, CLI, "serve"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const runtimeFile = join(runtime, "server.json");
  const deadline = Date.now() + 20_000;
  while (!existsSync(runtimeFile)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`the slurm-backend server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url, token } = JSON.parse(readFileSync(runtimeFile, "utf8")) as { url: string; token: string };
  const headers = { Authorization: `token ${token}` };
  return {
    url,
    token,
    dir,
    workDir,
    proc,
    log: () => stderr + (existsSync(join(dir, "data", "server.log")) ? readFileSync(join(dir, "data", "server.log"), "utf8") : ""),
    metrics: async () => (await (await fetch(`${url}/api/metrics`, { headers })).json()) as { commands: Record<string, number>; cellsInFlight: number },
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await new Promise((r) => proc.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
export function streamText(iopub: { header: { msg_type: string }; content: Record<string, unknown> }[], name = "stdout"): string {
  return iopub
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => String(m.content.text))
    .join("");
}
