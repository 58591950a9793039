/**
 * Issue "Interactive allocations", numbers on the test cluster, each against baselines measured in
 * the same run:
 *  1. a trivial cell in a held allocation vs the same code sent to a Python already running on that
 *     node (a persistent `srun --jobid … --overlap python` reading lines: the floor any channel has
 *     to pay) — target ≤ 100 ms overhead at p50; beside them, the other design the issue asks to
 *     measure (a step per cell: `srun --jobid … --overlap python -c …`, before it would even load a
 *     namespace) and today's per-cell job;
 *  2. a cell with a 1 GiB namespace (a numpy array): in the allocation vs as a per-cell job;
 *  3. the first cell after `%slurm allocate` returns (and how long `allocate` itself took).
 * Runs as the cluster's user through runuser; the server runs as that user too. Cancels only the
 * jobs of its own server (never the user's others: the cluster is shared).
 */
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { median, percentile, report, sleep, type Row } from "./lib/harness";
import {
  requireCluster,
  startKernel,
  startSlurmServer,
  WsKernelClient,
  type ClusterEnv,
  type SlurmServer,
} from "./lib/slurm-server";
import { streamText } from "../test/helpers/slurm";

const N = Number(process.env.BENCH_N ?? 20);
const N_BIG = Number(process.env.BENCH_N_BIG ?? 3);
const ALLOCATE = "%slurm allocate --time 0:30:00 --mem 4G";

type Kernel = WsKernelClient;

async function run(k: Kernel, code: string, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  const r = await k.execute(code, { timeoutMs });
  const ms = performance.now() - t0;
  if (r.reply.content.status !== "ok") throw new Error(`${code}: ${JSON.stringify(r.reply.content)}`);
  return ms;
}

async function allocate(k: Kernel): Promise<{ holder: string; ms: number }> {
  const t0 = performance.now();
  const r = await k.execute(ALLOCATE, { timeoutMs: 300_000 });
  const ms = performance.now() - t0;
  const m = /allocation (\d+) ready on/.exec(streamText(r.iopub));
  if (r.reply.content.status !== "ok" || !m) throw new Error(`allocate: ${JSON.stringify(r.reply.content)}`);
  return { holder: m[1]!, ms };
}

/** A Python on the allocation's node that evaluates one line per request and answers with one line. */
function pythonOnNode(cluster: ClusterEnv, holder: string) {
  const loop =
    "import sys\nfor line in sys.stdin:\n    sys.stdout.write(repr(eval(line)) + '\\n'); sys.stdout.flush()";
  const python = cluster.ALPINE_TEST_ENV_PYTHON ?? "python3";
  const proc = spawn(
    "runuser",
    ["-u", cluster.user, "--", "srun", "--jobid", holder, "--overlap", "-u", python, "-u", "-c", loop],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: proc.stdout! });
  const waiting: ((l: string) => void)[] = [];
  lines.on("line", (l) => waiting.shift()?.(l));
  return {
    ask: (code: string) =>
      new Promise<string>((resolve) => {
        waiting.push(resolve);
        proc.stdin!.write(`${code}\n`);
      }),
    close: () => proc.stdin!.end(),
  };
}

function stepPerCell(cluster: ClusterEnv, holder: string): number {
  const python = cluster.ALPINE_TEST_ENV_PYTHON ?? "python3";
  const t0 = performance.now();
  const r = spawnSync(
    "runuser",
    ["-u", cluster.user, "--", "srun", "--jobid", holder, "--overlap", python, "-c", "print(1 + 1)"],
    { encoding: "utf8" },
  );
  const ms = performance.now() - t0;
  if (r.stdout.trim() !== "2") throw new Error(`srun step: ${r.stdout} ${r.stderr}`);
  return ms;
}

const settle = () => sleep(200 + Math.random() * 400);

async function trivial(cluster: ClusterEnv, inAlloc: Kernel, perCell: Kernel, holder: string): Promise<void> {
  const node = pythonOnNode(cluster, holder);
  if ((await node.ask("1 + 1")) !== "2") throw new Error("the Python on the node does not answer");
  const direct: Row = { name: "baseline: `1 + 1` sent to a Python already running on the node", samples: [] };
  const alloc: Row = { name: "trivial cell in the allocation (kernel round trip)", samples: [] };
  const step: Row = { name: "a step per cell: `srun --jobid … --overlap python -c`", samples: [] };
  const job: Row = { name: "trivial cell as a per-cell job (today)", samples: [] };
  for (let i = 0; i < 2; i++) await run(inAlloc, "1 + 1"); // warm up
  for (let i = 0; i < N; i++) {
    await settle();
    let t0 = performance.now();
    await node.ask("1 + 1");
    direct.samples.push(performance.now() - t0);
    await settle();
    alloc.samples.push(await run(inAlloc, "1 + 1"));
    await settle();
    step.samples.push(stepPerCell(cluster, holder));
    if (i < Math.min(N, 8)) {
      await settle();
      t0 = performance.now();
      job.samples.push(await run(perCell, "1 + 1"));
    }
  }
  node.close();
  report(
    `Trivial cell, execute → reply (${N} runs each, interleaved; per-cell job ${job.samples.length})`,
    direct,
    [alloc, step, job],
  );
  const over = (p: number) => percentile(alloc.samples, p) - percentile(direct.samples, p);
  console.log(
    `\nallocation overhead over the Python on the node: p50 ${over(50).toFixed(1)} ms, p90 ${over(90).toFixed(1)} ms (target p50 ≤ 100 ms)`,
  );
}

async function bigNamespace(inAlloc: Kernel, perCell: Kernel): Promise<void> {
  const make = "import numpy as np\nbig = np.ones(1 << 27)  # 1 GiB";
  const cell = "float(big[:10].sum())";
  await run(inAlloc, make, 300_000);
  await run(perCell, `%%slurm --mem 4G\n${make}`, 300_000);
  const alloc: Row = { name: "cell with a 1 GiB namespace, in the allocation", samples: [] };
  const job: Row = { name: "cell with a 1 GiB namespace, as a per-cell job", samples: [] };
  for (let i = 0; i < N_BIG; i++) {
    await settle();
    alloc.samples.push(await run(inAlloc, cell));
    await settle();
    job.samples.push(await run(perCell, `%%slurm --mem 4G\n${cell}`, 300_000));
  }
  report(`Cell over a 1 GiB namespace (${N_BIG} runs each, interleaved)`, job, [alloc]);
  console.log(
    `\nper-cell job / allocation at the median: ${(median(job.samples) / median(alloc.samples)).toFixed(0)}×`,
  );
  await run(inAlloc, "del big");
}

async function firstCell(k: Kernel): Promise<void> {
  const alloc: Row = { name: "`%slurm allocate` until it returns (replacing the last)", samples: [] };
  const first: Row = { name: "first cell after it returns", samples: [] };
  const second: Row = { name: "the cell after that", samples: [] };
  for (let i = 0; i < N_BIG; i++) {
    await settle();
    alloc.samples.push((await allocate(k)).ms);
    first.samples.push(await run(k, "1 + 1"));
    second.samples.push(await run(k, "1 + 1"));
  }
  report(`First cell after allocate (${N_BIG} allocations)`, second, [first, alloc]);
}

async function main(): Promise<void> {
  const cluster = requireCluster();
  let server: SlurmServer | undefined;
  try {
    server = await startSlurmServer(cluster);
    const open = async (notebook: string) =>
      WsKernelClient.open(
        server!,
        await startKernel(server!, { KERNEL_WORKING_DIR: server!.workDir, KERNEL_NOTEBOOK: notebook }),
        "v1",
      );
    const inAlloc = await open("alloc.ipynb");
    const perCell = await open("percell.ipynb");
    const { holder } = await allocate(inAlloc);
    await run(perCell, "1 + 1"); // warm up the per-cell path
    await trivial(cluster, inAlloc, perCell, holder);
    await bigNamespace(inAlloc, perCell);
    await firstCell(inAlloc);
    inAlloc.close();
    perCell.close();
  } finally {
    server?.cancelJobs();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
