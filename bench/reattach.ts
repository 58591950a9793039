/**
 * Re-attaching 200 running cells after a server restart: a ledger left by a server that died with
 * 200 cells in flight (20 notebooks, 10 detached cells each, their jobs alive — local-backend jobs,
 * `sleep` processes standing in for them), each events file holding output past its saved offset
 * and the cell's end marker. Measured: from spawning `alpine-kernel serve` until the ledger records
 * all 200 ended (read from their offsets, ends recorded), against the same server starting on an
 * empty ledger (baseline, interleaved, same run).
 *
 *   npm run build && npx tsc -p tsconfig.bench.json && node build/bench/reattach.js
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger } from "../src/ledger/ledger";
import { CLI, median } from "./lib/harness";

const SESSIONS = 20;
const PER_SESSION = 10;
const RUNS = Number(process.env.BENCH_N ?? 5);

function prepare(dir: string, pids: number[]): void {
  const data = join(dir, "data");
  mkdirSync(data, { recursive: true });
  const ledger = new Ledger(join(data, "ledger.jsonl"));
  let n = 0;
  for (let s = 0; s < SESSIONS; s++) {
    const id = `00000000-0000-4000-8000-${String(s).padStart(12, "0")}`;
    const sessionDir = join(data, "sessions", id);
    mkdirSync(join(sessionDir, "cells"), { recursive: true });
    ledger.put({
      kind: "session",
      id,
      name: "alpine",
      dir: sessionDir,
      workDir: dir,
      notebook: `nb${s}.ipynb`,
      created: new Date().toISOString(),
      executionCount: PER_SESSION,
      cellSeq: PER_SESSION,
      history: [],
      names: {},
      slurmDefaults: [],
    });
    for (let c = 1; c <= PER_SESSION; c++) {
      const base = join(sessionDir, "cells", String(c).padStart(4, "0"));
      const start =
        JSON.stringify({
          type: "start",
          time: Date.now() / 1000,
          host: "bench",
          pid: 1,
          python: "3.11",
          ipython: false,
          dill: false,
        }) + "\n";
      const lines = Array.from(
        { length: 200 },
        (_, i) => JSON.stringify({ type: "stream", name: "stdout", text: `line ${i}\n` }) + "\n",
      ).join("");
      const end =
        JSON.stringify({ type: "end", status: "ok", time: Date.now() / 1000, maxrss_kb: 1000 }) + "\n";
      writeFileSync(`${base}.events.jsonl`, start + lines + end);
      writeFileSync(`${base}.out`, "");
      writeFileSync(`${base}.err`, "");
      ledger.put({
        kind: "cell",
        id: `${id}/${c}`,
        sessionId: id,
        notebookKey: `${dir}/nb${s}.ipynb`,
        seq: c,
        executionCount: c,
        detached: true,
        jobId: `local-${pids[n++]}`,
        sessionDir,
        submitted: new Date().toISOString(),
        requested: {},
        origin: {
          parent: {
            msg_id: `m${s}-${c}`,
            session: "x",
            username: "u",
            date: "",
            msg_type: "execute_request",
            version: "5.3",
          },
          clientId: "c",
          allowStdin: false,
          displayId: `alpine-kernel-status-${s}-${c}`,
        },
        state: "PENDING",
      });
    }
  }
  ledger.close();
}

function ended(ledgerPath: string): number {
  if (!existsSync(ledgerPath)) return 0;
  const recs = new Map<string, boolean>();
  for (const line of readFileSync(ledgerPath, "utf8").split("\n")) {
    if (!line) continue;
    try {
      const l = JSON.parse(line) as {
        op: string;
        rec?: { kind: string; id: string; ended?: string };
        kind?: string;
        id?: string;
        fields?: { ended?: string };
      };
      if (l.op === "put" && l.rec?.kind === "cell") recs.set(l.rec.id, Boolean(l.rec.ended));
      else if (l.op === "set" && l.kind === "cell" && l.fields?.ended) recs.set(l.id!, true);
    } catch {
      // a line being written
    }
  }
  return [...recs.values()].filter(Boolean).length;
}

async function serve(dir: string, until: () => boolean): Promise<number> {
  const env = {
    ...process.env,
    ALPINE_KERNEL_CONFIG: join(dir, "none.yaml"),
    ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
    ALPINE_KERNEL_RUNTIME_DIR: join(dir, "runtime"),
  };
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [CLI, "serve"], { env, stdio: "ignore" });
  while (!until()) await new Promise((r) => setTimeout(r, 10));
  const ms = performance.now() - t0;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return ms;
}

async function main(): Promise<void> {
  const sleeps = Array.from({ length: SESSIONS * PER_SESSION }, () =>
    spawn("sleep", ["600"], { stdio: "ignore" }),
  );
  const pids = sleeps.map((p) => p.pid!);
  const empty: number[] = [];
  const full: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const e = mkdtempSync(join(tmpdir(), "ak-bench-empty-"));
      empty.push(await serve(e, () => existsSync(join(e, "runtime", "server.json"))));
      rmSync(e, { recursive: true, force: true });
      const d = mkdtempSync(join(tmpdir(), "ak-bench-reattach-"));
      prepare(d, pids);
      full.push(await serve(d, () => ended(join(d, "data", "ledger.jsonl")) === SESSIONS * PER_SESSION));
      rmSync(d, { recursive: true, force: true });
    }
  } finally {
    for (const p of sleeps) p.kill("SIGKILL");
  }
  const b = median(empty);
  console.log(
    `\nRe-attaching ${SESSIONS * PER_SESSION} cells in flight after a restart (${SESSIONS} notebooks)`,
  );
  console.log("| case | n | median ms | ratio to baseline |");
  console.log("|---|---|---|---|");
  console.log(
    `| baseline: server start on an empty ledger (to its runtime file) | ${RUNS} | ${b.toFixed(0)} | 1.00× |`,
  );
  const f = median(full);
  console.log(
    `| server start → all ${SESSIONS * PER_SESSION} cells followed from their offsets and their ends recorded | ${RUNS} | ${f.toFixed(0)} | ${(f / b).toFixed(2)}× |`,
  );
}

void main();
