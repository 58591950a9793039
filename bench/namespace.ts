/**
 * Issue "A cell pays only for what it touches": numbers on the local backend and on the test
 * cluster's Slurm, each against baselines measured in the same run.
 *  1. A trivial cell (`z = 3`) with 0, 1 GB and 5 GB in the namespace (three kernels, cells
 *     interleaved): goal ≤ 1.2× the empty namespace's time at 5 GB; its peak memory (goal: well
 *     under 1 GB) and the bytes its process read and wrote (/proc/self/io, from the runner).
 *  2. A cell modifying one 100 MB array beside the 5 GB (`m += 1`), against writing 100 MB once
 *     (numpy to a file in the same directory, fsync): goal within 1.5×. Reported both as the
 *     runner's own save time and as the cell's extra time over a trivial cell in the same kernel.
 * Env: BENCH_N (default 5), BENCH_BACKENDS (default "local,slurm"), BENCH_PYTHON (local backend).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv as testEnv } from "../test/helpers/env";
import { spawnServer, waitForServer } from "../test/helpers/processes";
import { median, report, type Row } from "./lib/harness";
import { requireCluster, startKernel, startSlurmServer, WsKernelClient } from "./lib/slurm-server";

const N = Number(process.env.BENCH_N ?? 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? "local,slurm").split(",");
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

interface Target {
  label: string;
  url: string;
  token: string;
  workDir: string;
  /** Runs a command as the user the cells run as (the baseline write). */
  asUser(argv: string[]): string;
  /** %%slurm line for the cells that build the namespace (they need more than the default memory). */
  big: string;
  stop(): Promise<void>;
}

/** What the runner said about the last cell of a kernel: its namespace and end events. */
interface CellFacts {
  io: { rchar: number; wchar: number; read_bytes: number; write_bytes: number };
  saveSeconds: number;
  loadSeconds: number;
  maxrssKb: number;
  written: number;
}

function lastCell(workDir: string, kernelId: string): CellFacts {
  const cells = join(workDir, kernelId, "cells");
  const events = readdirSync(cells)
    .filter((f) => f.endsWith(".events.jsonl"))
    .sort()
    .pop()!;
  const lines = readFileSync(join(cells, events), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ns = lines.find((e) => e.type === "namespace") ?? {};
  const end = lines.find((e) => e.type === "end") ?? {};
  return {
    io: ns.io as CellFacts["io"],
    saveSeconds: Number(ns.seconds ?? 0),
    loadSeconds: Number(ns.load_seconds ?? 0),
    maxrssKb: Number(end.maxrss_kb ?? 0),
    written: Number(ns.written_bytes ?? 0),
  };
}

async function run(kernel: WsKernelClient, code: string): Promise<number> {
  const t0 = performance.now();
  const r = await kernel.execute(code, { timeoutMs: 600_000 });
  if (r.reply.content.status !== "ok") throw new Error(`${code}: ${JSON.stringify(r.reply.content)}`);
  return performance.now() - t0;
}

async function localTarget(): Promise<Target> {
  const iso = testEnv();
  const workDir = join(iso.dir, "sessions");
  iso.writeConfig(`backend: local\nwork_dir: ${workDir}\nenvironment:\n  python: ${PYTHON}\n`);
  const proc = spawnServer(iso);
  const rt = await waitForServer(iso);
  return {
    label: `local backend (${PYTHON})`,
    url: rt.url,
    token: rt.token,
    workDir,
    asUser: (argv) => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" }),
    big: "",
    stop: async () => {
      await proc.stop();
      iso.cleanup();
    },
  };
}

async function slurmTarget(): Promise<Target> {
  const cluster = requireCluster();
  const server = await startSlurmServer(cluster);
  return {
    label: "slurm backend (test cluster, local transport)",
    url: server.url,
    token: server.token,
    workDir: server.workDir,
    asUser: (argv) => {
      const r = spawnSync("runuser", ["-u", cluster.user, "--", ...argv], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout;
    },
    big: "%%slurm --mem 4G\n",
    stop: async () => {
      server.cancelJobs();
      await server.stop();
      rmSync(server.workDir, { recursive: true, force: true });
    },
  };
}

const fmt = (bytes: number) =>
  bytes >= GIB ? `${(bytes / GIB).toFixed(2)} GB` : `${(bytes / MIB).toFixed(1)} MB`;

async function bench(target: Target): Promise<void> {
  const open = async () => {
    const id = await startKernel(target, { KERNEL_WORKING_DIR: target.workDir, KERNEL_NOTEBOOK: "ns.ipynb" });
    return { id, kernel: await WsKernelClient.open(target, id, "v1") };
  };
  const kernels = [await open(), await open(), await open()];
  const sizes = [0, 1, 5];
  for (const [k, gb] of sizes.entries()) {
    await run(kernels[k]!.kernel, "import numpy as np");
    for (let i = 0; i < gb; i++)
      await run(kernels[k]!.kernel, `${target.big}a${i} = np.full(${GIB / 8}, ${i}.5)`);
  }
  const five = kernels[2]!;
  await run(five.kernel, `${target.big}m = np.zeros(${(100 * MIB) / 8})`);
  for (const { kernel } of kernels) for (let i = 0; i < 2; i++) await run(kernel, "z = 3"); // warm up

  const rows: Row[] = sizes.map((gb) => ({ name: `trivial cell, ${gb} GB in the namespace`, samples: [] }));
  const facts: CellFacts[][] = sizes.map(() => []);
  const trivial5: Row = { name: "trivial cell beside the 100 MB array (5 GB kernel)", samples: [] };
  const modify: Row = { name: "`m += 1`: one 100 MB array changed beside 5 GB", samples: [] };
  const sameWork: Row = { name: "the same work, nothing kept (empty kernel)", samples: [] };
  const modifyFacts: CellFacts[] = [];
  const write: Row = { name: "baseline: numpy writes 100 MB to a file once (fsync)", samples: [] };
  const writeScript =
    "import numpy as np, os, sys, time\n" +
    `a = np.ones(${(100 * MIB) / 8})\nt = time.perf_counter()\n` +
    "with open(sys.argv[1], 'wb') as f:\n    f.write(a)\n    f.flush()\n    os.fsync(f.fileno())\n" +
    "print(time.perf_counter() - t)\nos.remove(sys.argv[1])";
  for (let i = 0; i < N; i++) {
    for (const [k] of sizes.entries()) {
      rows[k]!.samples.push(await run(kernels[k]!.kernel, "z = 3"));
      facts[k]!.push(lastCell(target.workDir, kernels[k]!.id));
    }
    trivial5.samples.push(rows[2]!.samples.at(-1)!);
    modify.samples.push(await run(five.kernel, "m += 1"));
    modifyFacts.push(lastCell(target.workDir, five.id));
    sameWork.samples.push(
      await run(kernels[0]!.kernel, `import numpy\nw = numpy.zeros(${(100 * MIB) / 8})\nw += 1\ndel w`),
    );
    const out = target.asUser([PYTHON, "-c", writeScript, join(target.workDir, `write-${i}.bin`)]);
    write.samples.push(Number(out.trim()) * 1000);
  }
  for (const { kernel } of kernels) kernel.close();

  report(
    `Trivial cell with gigabytes in the namespace — ${target.label} (${N} runs each, interleaved)`,
    rows[0]!,
    rows.slice(1),
  );
  console.log(
    "\n| namespace | peak memory (MaxRSS) | read: rchar / from disk | written: wchar / to disk | runner: load s / save s |",
  );
  console.log("|---|---|---|---|---|");
  for (const [k, gb] of sizes.entries()) {
    const f = facts[k]!;
    const med = (pick: (x: CellFacts) => number) => median(f.map(pick));
    console.log(
      `| ${gb} GB | ${(med((x) => x.maxrssKb) / 1024).toFixed(0)} MB | ${fmt(med((x) => x.io.rchar))} / ${fmt(med((x) => x.io.read_bytes))} | ${fmt(med((x) => x.io.wchar))} / ${fmt(med((x) => x.io.write_bytes))} | ${med((x) => x.loadSeconds).toFixed(3)} / ${med((x) => x.saveSeconds).toFixed(3)} |`,
    );
  }
  const base = median(write.samples);
  const save = median(modifyFacts.map((f) => f.saveSeconds * 1000));
  const loadSave = median(modifyFacts.map((f) => (f.loadSeconds + f.saveSeconds) * 1000));
  const extra = median(modify.samples) - median(trivial5.samples);
  const overSame = median(modify.samples) - median(sameWork.samples);
  console.log(`\nOne 100 MB array changed beside 5 GB — ${target.label}`);
  console.log("| measure | median ms | ratio to writing 100 MB once |");
  console.log("|---|---|---|");
  console.log(`| baseline: numpy writes 100 MB once (fsync) | ${base.toFixed(1)} | 1.00× |`);
  console.log(
    `| the runner saving the namespace after \`m += 1\` | ${save.toFixed(1)} | ${(save / base).toFixed(2)}× |`,
  );
  console.log(
    `| the runner loading (mapping) and saving the namespace | ${loadSave.toFixed(1)} | ${(loadSave / base).toFixed(2)}× |`,
  );
  console.log(
    `| the cell's time over a trivial cell in the same kernel (includes importing numpy and the \`+= 1\` itself) | ${extra.toFixed(1)} | ${(extra / base).toFixed(2)}× |`,
  );
  console.log(
    `| the cell's time over the same work in an empty kernel that keeps nothing | ${overSame.toFixed(1)} | ${(overSame / base).toFixed(2)}× |`,
  );
  const mf = modifyFacts;
  console.log(
    `(\`m += 1\` cell: written ${fmt(median(mf.map((f) => f.written)))}, wchar ${fmt(median(mf.map((f) => f.io.wchar)))}, rchar ${fmt(median(mf.map((f) => f.io.rchar)))}, MaxRSS ${(median(mf.map((f) => f.maxrssKb)) / 1024).toFixed(0)} MB; cells ${median(modify.samples).toFixed(0)} ms vs trivial ${median(trivial5.samples).toFixed(0)} ms vs same work ${median(sameWork.samples).toFixed(0)} ms)`,
  );
}

async function main(): Promise<void> {
  for (const backend of BACKENDS) {
    const target = backend === "slurm" ? await slurmTarget() : await localTarget();
    try {
      await bench(target);
    } finally {
      await target.stop();
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
