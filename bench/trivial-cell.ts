/**
 * A trivial cell's round trip through the whole chain on the local backend (ZMQ client → bridge →
 * server → job script run by bash → cell runner → files → server → bridge → client), against the
 * baseline measured in the same run: the same job script run directly with bash.
 * Target (issue "Foundation"): ≤ 1.3×.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { cli, isolatedEnv, report, spawnCli, type Row } from "./lib/harness";
import { ZmqJupyterClient, writeConnectionFile } from "./lib/zmq-client";

const N = Number(process.env.BENCH_N ?? 20);
const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";

function latestScript(dataDir: string): string {
  const sessions = join(dataDir, "sessions");
  const [session] = readdirSync(sessions).filter((d) => d !== "runner");
  const cells = join(sessions, session!, "cells");
  const scripts = readdirSync(cells)
    .filter((f) => f.endsWith(".sh"))
    .sort();
  return join(cells, scripts[scripts.length - 1]!);
}

async function main(): Promise<void> {
  const { dir, env } = isolatedEnv(`backend: local\nenvironment:\n  python: ${PYTHON}\n`);
  const conn = await writeConnectionFile(join(dir, "conn.json"));
  const bridge = spawnCli(env, ["kernel", "-f", conn.file]);
  const client = new ZmqJupyterClient(conn);
  await client.waitForKernelInfo();
  for (let i = 0; i < 3; i++) await client.execute("x = 1"); // warm up: runner installed, caches hot

  const kernel: Row = { name: "trivial cell through alpine-kernel (local backend)", samples: [] };
  const baseline: Row = { name: "baseline: the same job script run with bash", samples: [] };
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const reply = await client.execute("x = 1");
    kernel.samples.push(performance.now() - t0);
    if (reply.content.status !== "ok") throw new Error(`cell failed: ${JSON.stringify(reply.content)}`);
    const script = latestScript(join(dir, "data"));
    const t1 = performance.now();
    const r = spawnSync("bash", [script], { stdio: "ignore" });
    baseline.samples.push(performance.now() - t1);
    if (r.status !== 0) throw new Error(`bash ${script} exited ${r.status}`);
  }
  await client.request("control", "shutdown_request", { restart: false });
  client.close();
  bridge.kill();
  cli(env, "stop");
  report(`Trivial cell round trip, cells run by ${PYTHON} (${N} runs each, interleaved)`, baseline, [kernel]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
