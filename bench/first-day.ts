/**
 * Issue "A researcher's first day": what the new steps cost, each against a baseline measured in
 * the same run, on the test cluster:
 *  1. the first cell of a fresh server (discovery, the environment check, the runner's install)
 *     against a later cell of the same session — and the environment check alone done by hand;
 *  2. `alpine-kernel env create` (a job on acompile, followed) against the same build submitted by
 *     hand and followed with a tight `scontrol show job` loop (and, for the record, with today's
 *     `sbatch --wait`, whose polling of 2 s, then 8 s, then 32 s dominates a 10 s build);
 *  3. `alpine-kernel doctor` from a laptop (SSH, key) against one `ssh HOST sinfo`.
 * BENCH_N (default 5) runs of 1 and 3, BENCH_BUILDS (default 3) of 2, interleaved; BENCH_PARTS
 * picks parts (first, doctor, builds).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, report, type Row } from "./lib/harness";
import {
  requireCluster,
  startKernel,
  startSlurmServer,
  WsKernelClient,
  type ClusterEnv,
} from "./lib/slurm-server";

const N = Number(process.env.BENCH_N ?? 5);
const BUILDS = Number(process.env.BENCH_BUILDS ?? 3);

const settle = () => new Promise((r) => setTimeout(r, 500 + Math.random() * 2000));

function asUser(cluster: ClusterEnv, argv: string[], cwd = "/tmp", env: Record<string, string> = {}) {
  const vars = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: `/home/${cluster.user}`,
    USER: cluster.user,
    ...env,
  };
  const r = spawnSync(
    "runuser",
    ["-u", cluster.user, "--", "env", ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...argv],
    {
      cwd,
      encoding: "utf8",
      timeout: 600_000,
    },
  );
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

async function firstCells(cluster: ClusterEnv): Promise<void> {
  const first: Row = {
    name: "first cell of a fresh server (discovery, environment check, runner install)",
    samples: [],
  };
  const later: Row = { name: "baseline: a later cell of the same session", samples: [] };
  const probe: Row = {
    name: "the environment check by hand (bash -l, module load, conda activate, python)",
    samples: [],
  };
  for (let i = 0; i < N; i++) {
    const server = await startSlurmServer(cluster);
    try {
      const id = await startKernel(server, {
        KERNEL_WORKING_DIR: server.workDir,
        KERNEL_NOTEBOOK: "bench.ipynb",
      });
      const kernel = await WsKernelClient.open(server, id, "v1");
      await settle();
      let t0 = performance.now();
      const r = await kernel.execute("1 + 1", { timeoutMs: 120_000 });
      first.samples.push(performance.now() - t0);
      if (r.reply.content.status !== "ok") throw new Error(JSON.stringify(r.reply.content));
      await settle();
      t0 = performance.now();
      await kernel.execute("1 + 1", { timeoutMs: 120_000 });
      later.samples.push(performance.now() - t0);
      kernel.close();
    } finally {
      server.cancelJobs();
      await server.stop();
    }
    const t0 = performance.now();
    asUser(cluster, [
      "bash",
      "-lc",
      "module load miniforge && conda activate alpine-kernel && exec python -c 'import IPython, dill'",
    ]);
    probe.samples.push(performance.now() - t0);
  }
  report("The first cell of a server (slurm backend, local transport)", later, [first, probe]);
}

async function builds(cluster: ClusterEnv): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-env-"));
  const uid = Number(execFileSync("id", ["-u", cluster.user], { encoding: "utf8" }));
  chownSync(dir, uid, uid);
  writeFileSync(
    join(dir, "config.yaml"),
    `cluster_profile: local\nwork_dir: ${cluster.scratch}/ak-bench-env\n`,
  );
  writeFileSync(join(dir, "environment.yml"), "dependencies:\n  - python>=3.8\n  - dill\n");
  const hand = join(dir, "build.sh");
  writeFileSync(
    hand,
    `#!/bin/bash -l\n#SBATCH --partition acompile\n#SBATCH --time 1:00:00\n#SBATCH --output ${dir}/hand-%j.out\nmodule load miniforge\nconda env create --file ${dir}/environment.yml --name ak-bench-hand\nconda activate ak-bench-hand\nexec python -c 'import dill'\n`,
  );
  chownSync(hand, uid, uid);
  const remove = (name: string) => {
    try {
      asUser(cluster, ["bash", "-lc", `module load miniforge && conda env remove -n ${name}`]);
    } catch {
      // not there
    }
  };
  const ours: Row = { name: "alpine-kernel env create (job on acompile, followed)", samples: [] };
  const base: Row = { name: "baseline: the same build by hand, sbatch + tight scontrol loop", samples: [] };
  const waited: Row = { name: "today's workflow: the same build by hand, sbatch --wait", samples: [] };
  // The hand-written path at its best: submit, then ask scontrol every 20 ms until the job ended.
  const byHand = () => {
    const jobId = asUser(cluster, ["sbatch", "--parsable", "-A", cluster.account, hand], dir).trim();
    asUser(cluster, [
      "bash",
      "-c",
      `while :; do s=$(scontrol show job -o ${jobId} | grep -o 'JobState=[A-Z_]*'); case $s in *COMPLETED) exit 0;; *FAILED|*CANCELLED|*TIMEOUT|*OUT_OF_MEMORY) exit 1;; esac; sleep 0.02; done`,
    ]);
  };
  const env = { ALPINE_KERNEL_CONFIG: join(dir, "config.yaml"), ALPINE_KERNEL_DATA_DIR: join(dir, "data") };
  try {
    for (let i = 0; i < BUILDS; i++) {
      remove("ak-bench-ours");
      remove("ak-bench-hand");
      await settle();
      let t0 = performance.now();
      asUser(cluster, [process.execPath, CLI, "env", "create", "--name", "ak-bench-ours"], dir, env);
      ours.samples.push(performance.now() - t0);
      await settle();
      t0 = performance.now();
      byHand();
      base.samples.push(performance.now() - t0);
      remove("ak-bench-hand");
      await settle();
      t0 = performance.now();
      asUser(cluster, ["sbatch", "--wait", "-A", cluster.account, hand], dir);
      waited.samples.push(performance.now() - t0);
    }
  } finally {
    remove("ak-bench-ours");
    remove("ak-bench-hand");
    rmSync(dir, { recursive: true, force: true });
  }
  report("Building an environment on acompile (python + dill from the local wheel mirror)", base, [
    ours,
    waited,
  ]);
}

function doctor(cluster: ClusterEnv): void {
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-doctor-"));
  const env = {
    ...process.env,
    HOME: join(dir, "home"),
    ALPINE_KERNEL_CONFIG: join(dir, "config.yaml"),
    ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
    ALPINE_KERNEL_RUNTIME_DIR: join(dir, "run"),
    JUPYTER_DATA_DIR: join(dir, "jupyter"),
    JUPYTER_PATH: "",
  };
  writeFileSync(
    env.ALPINE_KERNEL_CONFIG,
    `cluster_profile: alpine\nwork_dir: ${cluster.scratch}/ak-bench-doctor\ncluster:\n  host: alpine-test-key\n  ssh_config: ${cluster.ALPINE_TEST_SSH_CONFIG}\n`,
  );
  execFileSync(process.execPath, [CLI, "install", "--user"], { env });
  const ours: Row = { name: "alpine-kernel doctor (11 checks, SSH)", samples: [] };
  const submit: Row = { name: "alpine-kernel doctor --submit (12 checks and a real cell)", samples: [] };
  const base: Row = { name: "baseline: ssh alpine-test-key sinfo", samples: [] };
  try {
    for (let i = 0; i < N; i++) {
      let t0 = performance.now();
      execFileSync(
        "ssh",
        ["-F", cluster.ALPINE_TEST_SSH_CONFIG!, "-o", "BatchMode=yes", "alpine-test-key", "sinfo", "-h"],
        { stdio: "ignore" },
      );
      base.samples.push(performance.now() - t0);
      t0 = performance.now();
      const r = spawnSync(process.execPath, [CLI, "doctor"], { env, encoding: "utf8" });
      ours.samples.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(r.stdout + r.stderr);
      t0 = performance.now();
      const s = spawnSync(process.execPath, [CLI, "doctor", "--submit"], { env, encoding: "utf8" });
      submit.samples.push(performance.now() - t0);
      if (s.status !== 0) throw new Error(s.stdout + s.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report("alpine-kernel doctor from a laptop (key login)", base, [ours, submit]);
}

/** BENCH_PARTS=first,doctor,builds (default all): a part to run again alone. */
const PARTS = new Set((process.env.BENCH_PARTS ?? "first,doctor,builds").split(","));

async function main(): Promise<void> {
  const cluster = requireCluster();
  if (PARTS.has("first")) await firstCells(cluster);
  if (PARTS.has("doctor")) doctor(cluster);
  if (PARTS.has("builds")) await builds(cluster);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
