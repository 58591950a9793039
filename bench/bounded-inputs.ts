/**
 * Issue 10, defects 4 and 8, measured.
 * 1. History search: the linear-time glob against the regular expression it replaced (rebuilt here
 *    as the code had it), searching a history of 1000 entries of 60 `a`s (the worst case)
 *    for `*a*a…*b*` (no match: every entry is scanned to its end). Baseline in the same run: a plain
 *    substring scan of the same entries.
 * 2. Memory: resident memory of the kernel bridge and of the server before and after a frame far
 *    over the limit (200 MiB unsigned on ZeroMQ shell; 64 MiB on the WebSocket).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import * as zmq from "zeromq";
import { compileGlob } from "../src/session/glob";
import { isolatedEnv, report, sleep, spawnCli, type Row } from "./lib/harness";
import { writeConnectionFile, ZmqJupyterClient } from "./lib/zmq-client";
import { rssMib } from "../test/helpers/processes";

const N = Number(process.env.BENCH_N ?? 15);

/** The search as it was before: each * became [\s\S]*, matched by a backtracking regexp. */
function oldGlob(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[\\s\\S]*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

function timeIt(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function historySearch(): void {
  const history = Array.from({ length: 1000 }, (_, i) => "a".repeat(60) + String(i % 10));
  const pattern = (stars: number) => `${"*a".repeat(stars - 2)}*b*`;
  const baseline: Row = { name: "baseline: substring scan (includes) of the 1000 entries", samples: [] };
  const rows: Row[] = [];
  const glob = (stars: number): Row => ({ name: `glob, ${stars} stars`, samples: [] });
  const regexp = (stars: number): Row => ({ name: `old regexp, ${stars} stars`, samples: [] });
  const newRows = [2, 4, 6, 8, 16].map((s) => [s, glob(s)] as const);
  const oldRows = [2, 3, 4].map((s) => [s, regexp(s)] as const); // more stars: seconds to minutes a search
  for (let i = 0; i < N; i++) {
    baseline.samples.push(timeIt(() => history.filter((e) => e.includes("b"))));
    for (const [stars, row] of newRows) {
      const g = compileGlob(pattern(stars));
      row.samples.push(timeIt(() => history.filter((e) => g.test(e))));
    }
    for (const [stars, row] of oldRows) {
      const re = oldGlob(pattern(stars));
      row.samples.push(timeIt(() => history.filter((e) => re.test(e))));
    }
  }
  rows.push(...newRows.map(([, r]) => r), ...oldRows.map(([, r]) => r));
  report("History search of 1000 entries of 61 characters for *a*a…*b* (ms)", baseline, rows);
  // What one search of ONE entry cost before, with more stars.
  for (const stars of [5, 6]) {
    const ms = timeIt(() => oldGlob(pattern(stars)).test(history[0]!));
    console.log(`(old regexp, ${stars} stars, ONE entry: ${ms.toFixed(0)} ms)`);
  }
}

async function oversizedFrames(): Promise<void> {
  const { dir, env } = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
  const conn = await writeConnectionFile(join(dir, "conn.json"));
  const bridge = spawnCli(env, ["kernel", "-f", conn.file]);
  const client = new ZmqJupyterClient(conn);
  await client.waitForKernelInfo();
  const runtime = JSON.parse(readFileSync(join(dir, "runtime", "server.json"), "utf8")) as {
    url: string;
    token: string;
    pid: number;
  };
  const rows: string[] = [];

  const bridgeBefore = rssMib(bridge.pid!);
  const intruder = new zmq.Dealer({ linger: 0, sendTimeout: 20_000 });
  intruder.connect(`tcp://127.0.0.1:${conn.info.shell_port}`);
  await intruder
    .send(["<IDS|MSG>", "unsigned", "{}", "{}", "{}", Buffer.alloc(200 << 20, 0x61)])
    .catch(() => {});
  await sleep(3000);
  intruder.close();
  rows.push(
    `| kernel bridge, 200 MiB unsigned ZeroMQ frame | ${bridgeBefore.toFixed(0)} | ${rssMib(bridge.pid!).toFixed(0)} |`,
  );

  const headers = { Authorization: `token ${runtime.token}`, "Content-Type": "application/json" };
  const kernel = (await (
    await fetch(`${runtime.url}/api/kernels`, { method: "POST", headers, body: "{}" })
  ).json()) as {
    id: string;
  };
  const ws = new WebSocket(`${runtime.url.replace("http", "ws")}/api/kernels/${kernel.id}/channels`, {
    headers,
  });
  await new Promise((r) => ws.once("open", r));
  const serverBefore = rssMib(runtime.pid);
  ws.send(Buffer.alloc(64 << 20, 0x62));
  const closed = await new Promise<number>((r) => ws.once("close", (code) => r(code)));
  await sleep(1000);
  rows.push(
    `| server, 64 MiB WebSocket frame (closed with ${closed}) | ${serverBefore.toFixed(0)} | ${rssMib(runtime.pid).toFixed(0)} |`,
  );

  console.log("\nResident memory (MiB) before and after a frame over the limit");
  console.log("| process, frame | before | after |");
  console.log("|---|---|---|");
  for (const r of rows) console.log(r);
  client.close();
  bridge.kill("SIGTERM");
  await fetch(`${runtime.url}/api/kernels/${kernel.id}`, { method: "DELETE", headers }).catch(() => {});
  process.kill(runtime.pid, "SIGTERM");
}

async function main(): Promise<void> {
  historySearch();
  await oversizedFrames();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
