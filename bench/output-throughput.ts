/**
 * A cell printing 1 GB: how fast the server gets through its output (MB/s), against `cat` of the
 * same file to /dev/null (baseline, same run). The runner writes the cell's events file for real
 * (1024 writes of 1 MiB through print); then the job follower (src/jobs/job-follower.ts) reads it
 * as the server does after the end marker — everything delivered to a listener (limit off), and
 * with the default 100 MiB limit (the rest read, parsed only as far as needed, not delivered) —
 * and a whole cell runs through `alpine-kernel run` on the local backend (default limit).
 *
 *   npm run build && npx tsc -p tsconfig.bench.json && node build/bench/output-throughput.js
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../src/cluster/local-transport";
import type { JobListener } from "../src/jobs/backend";
import { JobFollower } from "../src/jobs/job-follower";
import { CLI, ROOT, median } from "./lib/harness";

const MB = Number(process.env.BENCH_MB ?? 1024);
const RUNS = Number(process.env.BENCH_N ?? 3);
const CODE = `import sys\nchunk = 'y' * (1 << 20)\nfor i in range(${MB}):\n    sys.stdout.write(chunk)\nprint()`;

async function follow(events: string, limitBytes: number): Promise<{ ms: number; delivered: number }> {
  let delivered = 0;
  const listener: JobListener = {
    onEvent: (e) => {
      if (e.type === "stream") delivered += e.text.length;
    },
    onOutput: (_n, text) => {
      delivered += text.length;
    },
    onStatus: () => {},
    onOffsets: () => {},
    onEnding: () => {},
    onTrouble: () => {},
  };
  const none = join(events, "..", "none");
  const liveness = {
    watch: (_id: string, _s: unknown, gone: () => void) => {
      setImmediate(gone);
      return () => {};
    },
    final: async () => ({ jobId: "x", state: "COMPLETED" as const, exitCode: 0, signal: 0 }),
  };
  const t0 = performance.now();
  const f = new JobFollower(
    new LocalTransport(),
    liveness,
    "x",
    { events, stdout: `${none}.out`, stderr: `${none}.err`, code: "", script: "" },
    { events: 0, stdout: 0, stderr: 0 },
    listener,
    limitBytes ? { outputLimit: { bytes: limitBytes, textCommand: async () => "" } } : {},
  );
  await f.done;
  return { ms: performance.now() - t0, delivered };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-out-"));
  const events = join(dir, "cell.events.jsonl");
  writeFileSync(join(dir, "cell.py"), CODE);
  const t0 = performance.now();
  execFileSync(
    "/usr/bin/python3",
    [
      "-u",
      join(ROOT, "dist/runner/alpine_kernel_runner.py"),
      "--code",
      join(dir, "cell.py"),
      "--events",
      events,
      "--execution-count",
      "1",
    ],
    { stdio: "ignore" },
  );
  const writeMs = performance.now() - t0;
  const bytes = statSync(events).size;
  const mbps = (ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(0);
  const cat: number[] = [];
  const all: { ms: number; delivered: number }[] = [];
  const limited: { ms: number; delivered: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = performance.now();
    execFileSync("bash", ["-c", `cat ${events} > /dev/null`]);
    cat.push(performance.now() - c0);
    all.push(await follow(events, 0));
    limited.push(await follow(events, 100 << 20));
  }
  // A whole cell through the server (default limit), as a user runs it.
  const nbDir = join(dir, "nb");
  mkdirSync(nbDir);
  const nb = join(nbDir, "big.ipynb");
  writeFileSync(
    nb,
    JSON.stringify({
      cells: [{ cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: CODE }],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  writeFileSync(join(dir, "config.yaml"), "backend: local\nenvironment:\n  python: /usr/bin/python3\n");
  const env = {
    ...process.env,
    ALPINE_KERNEL_CONFIG: join(dir, "config.yaml"),
    ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
    ALPINE_KERNEL_RUNTIME_DIR: join(dir, "runtime"),
  };
  const r0 = performance.now();
  const run = spawnSync(process.execPath, [CLI, "run", nb, "-o", join(nbDir, "out.ipynb")], {
    env,
    encoding: "utf8",
  });
  const cellMs = performance.now() - r0;
  spawnSync(process.execPath, [CLI, "stop"], { env });
  const c = median(cat);
  console.log(
    `\nA cell printing ${MB} MiB: its events file is ${(bytes / 1e6).toFixed(0)} MB (written by the runner in ${(writeMs / 1000).toFixed(1)} s)`,
  );
  console.log("| case | n | median ms | MB/s | ratio to baseline (time) | delivered MB |");
  console.log("|---|---|---|---|---|---|");
  console.log(
    `| baseline: cat of the same file > /dev/null | ${RUNS} | ${c.toFixed(0)} | ${mbps(c)} | 1.00× | — |`,
  );
  for (const [name, xs] of [
    ["job follower, everything delivered (max_cell_output_mb: 0)", all],
    ["job follower, default limit (100 MiB delivered, the rest read past)", limited],
  ] as const) {
    const m = median(xs.map((x) => x.ms));
    console.log(
      `| ${name} | ${RUNS} | ${m.toFixed(0)} | ${mbps(m)} | ${(m / c).toFixed(2)}× | ${(xs[0]!.delivered / 1e6).toFixed(0)} |`,
    );
  }
  console.log(
    `| the whole cell through \`alpine-kernel run\` (runner writing included, default limit) | 1 | ${cellMs.toFixed(0)} | ${mbps(cellMs)} | ${(cellMs / c).toFixed(2)}× | — |`,
  );
  if (run.status !== 0) console.log(`(alpine-kernel run exited ${run.status}: ${run.stdout}${run.stderr})`);
  rmSync(dir, { recursive: true, force: true });
}

void main();
