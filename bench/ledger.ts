/**
 * The ledger over 10,000 cells of 10 notebooks whose histories reach 1000 entries: bytes and write
 * time per cell, then start-up (open) time and memory with the ledger that leaves — for the
 * fsynced journal of changes (src/ledger/ledger.ts), SQLite (better-sqlite3@12, WAL,
 * synchronous=FULL, one transaction per tick as the journal has one fdatasync per tick), and the
 * snapshot journal it replaced (baseline: the whole session record, history included, three times
 * a cell; no fsync). Then the real server started on the journal it leaves vs an empty one.
 *
 *   npm run build && npx tsc -p tsconfig.bench.json && node build/bench/ledger.js
 *   (SQLite: `npm install --no-save better-sqlite3@12.11.1`, or BETTER_SQLITE3=/path/to/it)
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger } from "../src/ledger/ledger";
import { CLI, median, percentile } from "./lib/harness";

const NOTEBOOKS = Number(process.env.BENCH_NOTEBOOKS ?? 10);
const CELLS = Number(process.env.BENCH_CELLS ?? 1000);
const tick = () => new Promise((r) => setImmediate(r));

interface Store {
  put(rec: Record<string, unknown> & { kind: string; id: string }, durable?: boolean): void;
  set(kind: string, id: string, fields: Record<string, unknown>, durable?: boolean): void;
  push(kind: string, id: string, item: [number, string]): void;
  /** The end of a tick (SQLite commits here; the journal fsyncs on its own). */
  tick(): void;
  /** Time spent writing and syncing, and bytes appended, when the store counts them itself. */
  written?(): { ms: number; bytes: number };
  close(): void;
}

function code(nb: number, i: number): string {
  return `# notebook ${nb} cell ${i}\nimport numpy as np\nx${i} = np.arange(${i * 7}).reshape(-1)\nprint(x${i}.sum(), x${i}.mean())\n`.repeat(
    1 + (i % 3),
  );
}

/** The writes the session and the cell book make for one cell (in their ticks). */
async function oneCell(s: Store, nb: number, i: number): Promise<number[]> {
  const sid = `session-${nb}`;
  const cid = `${sid}/${i}`;
  const times: number[] = [];
  const t0 = performance.now();
  s.set("session", sid, { executionCount: i });
  s.push("session", sid, [i, code(nb, i)]);
  s.set("session", sid, { cellSeq: i });
  s.put({
    kind: "cell",
    id: cid,
    sessionId: sid,
    notebookKey: `/home/u/nb${nb}.ipynb`,
    seq: i,
    executionCount: i,
    detached: false,
    jobId: String(100000 + nb * CELLS + i),
    sessionDir: `/scratch/alpine/u/ak/${sid}`,
    submitted: new Date().toISOString(),
    requested: { time: "1:00:00", mem: "4G" },
    origin: {
      parent: {
        msg_id: `m-${cid}`,
        session: "s",
        username: "u",
        date: "",
        msg_type: "execute_request",
        version: "5.3",
      },
      clientId: "c",
      allowStdin: true,
    },
    state: "PENDING",
    offsets: { events: 0, stdout: 0, stderr: 0 },
  });
  s.tick();
  times.push(performance.now() - t0);
  await tick();
  for (let k = 1; k <= 3; k++) {
    const t = performance.now();
    s.set("cell", cid, { offsets: { events: k * 300, stdout: 0, stderr: 0 } }, false);
    s.tick();
    times.push(performance.now() - t);
    await tick();
  }
  const t1 = performance.now();
  s.set("session", sid, { names: { np: "module", [`x${i}`]: "ndarray" } }, false);
  s.set("cell", cid, { state: "COMPLETED", ended: new Date().toISOString(), maxRss: "120M", offsets: null });
  s.tick();
  times.push(performance.now() - t1);
  await tick();
  return times;
}

function sessionRecord(nb: number): Record<string, unknown> & { kind: string; id: string } {
  return {
    kind: "session",
    id: `session-${nb}`,
    name: "alpine",
    dir: `/scratch/alpine/u/ak/session-${nb}`,
    workDir: "/home/u",
    notebook: `nb${nb}.ipynb`,
    created: new Date().toISOString(),
    executionCount: 0,
    cellSeq: 0,
    history: [],
    names: {},
    slurmDefaults: [],
  };
}

function journalStore(path: string): Store & { ledger: Ledger } {
  const ledger = new Ledger(path);
  const bound = { items: 1000, chars: 4 << 20 };
  return {
    ledger,
    put: (rec, durable) => ledger.put(rec, { durable }),
    set: (kind, id, fields, durable) => ledger.update(kind, id, fields, { durable }),
    push: (kind, id, item) => ledger.push(kind, id, "history", item, bound),
    tick: () => {},
    written: () => ({ ms: ledger.stats.writeMs, bytes: ledger.stats.bytesWritten }),
    close: () => ledger.close(),
  };
}

/** What the ledger did before: every change written as the whole record again (no fsync). */
function snapshotStore(path: string): Store {
  const records = new Map<string, Record<string, unknown>>();
  let lines = 0;
  let bytes = 0;
  let ms = 0;
  const write = (rec: Record<string, unknown>) => {
    const t0 = performance.now();
    const line = JSON.stringify({ op: "put", rec }) + "\n";
    bytes += Buffer.byteLength(line);
    appendFileSync(path, line, { mode: 0o600 });
    ms += performance.now() - t0;
    if (++lines > 2000 && lines > 4 * records.size) {
      const body = [...records.values()].map((r) => JSON.stringify({ op: "put", rec: r }) + "\n").join("");
      appendFileSync(`${path}.tmp`, body);
      rmSync(path);
      spawnSync("mv", [`${path}.tmp`, path]);
      lines = records.size;
    }
  };
  return {
    put: (rec) => {
      records.set(`${rec.kind}/${rec.id}`, structuredClone(rec));
      write(rec);
    },
    set: (kind, id, fields) => {
      const rec = records.get(`${kind}/${id}`)!;
      Object.assign(rec, fields);
      write(rec);
    },
    push: (kind, id, item) => {
      const rec = records.get(`${kind}/${id}`)!;
      const h = rec.history as unknown[];
      h.push(item);
      if (h.length > 1000) h.splice(0, h.length - 1000);
      // the old session wrote its record when the history changed, with everything in it
      write(rec);
    },
    tick: () => {},
    written: () => ({ ms, bytes }),
    close: () => {},
  };
}

interface SqliteDb {
  pragma(s: string): unknown;
  exec(s: string): void;
  prepare(s: string): { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] };
  close(): void;
}

function loadSqlite(): ((path: string) => SqliteDb) | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(process.env.BETTER_SQLITE3 ?? "better-sqlite3") as (path: string) => SqliteDb;
  } catch {
    return undefined;
  }
}

function sqliteStore(path: string, openDb: (p: string) => SqliteDb): Store {
  const db = openDb(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(
    "CREATE TABLE IF NOT EXISTS records (kind TEXT, id TEXT, json TEXT, PRIMARY KEY (kind, id));" +
      "CREATE TABLE IF NOT EXISTS history (session TEXT, n INTEGER, code TEXT, PRIMARY KEY (session, n));",
  );
  const records = new Map<string, Record<string, unknown>>();
  const upsert = db.prepare("INSERT OR REPLACE INTO records (kind, id, json) VALUES (?, ?, ?)");
  const addHistory = db.prepare("INSERT OR REPLACE INTO history (session, n, code) VALUES (?, ?, ?)");
  const trim = db.prepare("DELETE FROM history WHERE session = ? AND n <= ?");
  let inTx = false;
  const begin = () => {
    if (!inTx) db.exec("BEGIN");
    inTx = true;
  };
  return {
    put: (rec) => {
      begin();
      records.set(`${rec.kind}/${rec.id}`, structuredClone(rec));
      upsert.run(rec.kind, rec.id, JSON.stringify(rec));
    },
    set: (kind, id, fields) => {
      begin();
      const rec = records.get(`${kind}/${id}`)!;
      for (const [k, v] of Object.entries(fields))
        if (v === null) delete rec[k];
        else rec[k] = v;
      const { history: _h, ...rest } = rec;
      upsert.run(kind, id, JSON.stringify(rest));
    },
    push: (_kind, id, [n, c]) => {
      begin();
      addHistory.run(id, n, c);
      trim.run(id, n - 1000);
    },
    tick: () => {
      if (inTx) db.exec("COMMIT");
      inTx = false;
    },
    close: () => db.close(),
  };
}

function sizeOf(paths: string[]): number {
  return paths.reduce((n, p) => n + (existsSync(p) ? statSync(p).size : 0), 0);
}

async function fill(
  name: string,
  store: Store,
  files: string[],
  notebooks = NOTEBOOKS,
): Promise<Record<string, string>> {
  for (let nb = 0; nb < notebooks; nb++) store.put(sessionRecord(nb));
  store.tick();
  const perCell: number[] = [];
  const t0 = performance.now();
  let written = 0;
  for (let i = 1; i <= CELLS; i++)
    for (let nb = 0; nb < notebooks; nb++)
      perCell.push((await oneCell(store, nb, i)).reduce((a, b) => a + b, 0));
  const wall = performance.now() - t0;
  written = sizeOf(files);
  const own = store.written?.();
  store.close();
  const cells = notebooks * CELLS;
  const sum = perCell.reduce((a, b) => a + b, 0);
  return {
    name: `${name}, ${cells} cells`,
    // The journal's fdatasync runs after the tick: its own clock counts it.
    "write+sync ms/cell": ((own?.ms ?? sum) / cells).toFixed(3),
    "p90 ms of a cell's synchronous writes": percentile(perCell, 90).toFixed(3),
    "wall ms/cell": (wall / cells).toFixed(3),
    "bytes written/cell": own ? (own.bytes / cells).toFixed(0) : "(= on disk)",
    "MB on disk at the end": (written / 1e6).toFixed(1),
  };
}

/** Opens a ledger in a fresh process: time and memory (`--open kind path`). */
function openInChild(kind: string, path: string): { ms: number; rssMb: number; heapMb: number } {
  const r = spawnSync(process.execPath, [__filename, "--open", kind, path], {
    encoding: "utf8",
    env: process.env,
  });
  const m = /^open (\S+) (\S+) (\S+)/m.exec(r.stdout);
  if (!m) throw new Error(`open ${kind} failed: ${r.stdout}${r.stderr}`);
  return { ms: Number(m[1]), rssMb: Number(m[2]), heapMb: Number(m[3]) };
}

function openHere(kind: string, path: string): void {
  try {
    openMeasured(kind, path);
  } catch (err) {
    // The snapshot journal of 10,000 cells cannot be read as one string: the defect itself.
    console.log(`open -1 -1 -1 (${(err as Error).message.split("\n")[0]})`);
  }
}

function openMeasured(kind: string, path: string): void {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let n = 0;
  if (kind === "journal") n = new Ledger(path).list("cell").length;
  else if (kind === "snapshot") {
    const recs = new Map<string, unknown>();
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (!line) continue;
      const l = JSON.parse(line) as { rec: { kind: string; id: string } };
      recs.set(`${l.rec.kind}/${l.rec.id}`, l.rec);
    }
    n = recs.size;
  } else {
    const db = loadSqlite()!(path);
    const rows = db.prepare("SELECT json FROM records").all() as { json: string }[];
    const hist = db.prepare("SELECT session, n, code FROM history ORDER BY session, n").all();
    n = rows.map((r) => JSON.parse(r.json) as unknown).length + hist.length * 0;
    db.close();
  }
  const ms = performance.now() - t0;
  global.gc?.();
  const mem = process.memoryUsage();
  console.log(
    `open ${ms.toFixed(1)} ${((mem.rss - rss0) / 1e6).toFixed(1)} ${(mem.heapUsed / 1e6).toFixed(1)} (${n})`,
  );
}

/** The real server on a data directory: ms until its runtime file, and its RSS then. */
async function serverStart(dataDir: string): Promise<{ ms: number; rssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-srv-"));
  const env = {
    ...process.env,
    ALPINE_KERNEL_CONFIG: join(dir, "none.yaml"),
    ALPINE_KERNEL_DATA_DIR: dataDir,
    ALPINE_KERNEL_RUNTIME_DIR: join(dir, "runtime"),
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, "serve"], { env, stdio: "ignore" });
  const runtime = join(dir, "runtime", "server.json");
  while (!existsSync(runtime)) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
  return { ms, rssMb };
}

function table(rows: Record<string, string>[]): void {
  const keys = Object.keys(rows[0]!);
  console.log(`| ${keys.join(" | ")} |\n|${keys.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(" | ")} |`);
}

async function main(): Promise<void> {
  if (process.argv[2] === "--open") return openHere(process.argv[3]!, process.argv[4]!);
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-ledger-"));
  const sqlite = loadSqlite();
  const journal = join(dir, "journal", "ledger.jsonl");
  const snapshot = join(dir, "snapshot.jsonl");
  const db = join(dir, "ledger.sqlite");
  mkdirSync(join(dir, "journal"));
  console.log(
    `\nLedger: ${NOTEBOOKS} notebooks × ${CELLS} cells (histories reach ${Math.min(CELLS, 1000)} entries)`,
  );
  const rows = [
    await fill("snapshot journal (before; baseline, no fsync)", snapshotStore(snapshot), [snapshot]),
  ];
  rows.push(await fill("journal of changes, fdatasync per tick (chosen)", journalStore(journal), [journal]));
  if (sqlite)
    rows.push(
      await fill("SQLite WAL, synchronous=FULL, a transaction per tick", sqliteStore(db, sqlite), [
        db,
        `${db}-wal`,
      ]),
    );
  else console.log("(SQLite skipped: npm install --no-save better-sqlite3@12.11.1, or set BETTER_SQLITE3)");
  table(rows);

  console.log("\nOpening that ledger in a fresh process (median of 5)");
  const opens: Record<string, string>[] = [];
  for (const [name, kind, path] of [
    ["snapshot journal (baseline)", "snapshot", snapshot],
    ["journal of changes", "journal", journal],
    ...(sqlite ? [["SQLite", "sqlite", db]] : []),
  ] as [string, string, string][]) {
    const runs = Array.from({ length: 5 }, () => openInChild(kind, path));
    opens.push({
      ledger: name,
      "file MB": (sizeOf(kind === "sqlite" ? [path, `${path}-wal`] : [path]) / 1e6).toFixed(1),
      "open ms": median(runs.map((r) => r.ms)).toFixed(1),
      "RSS growth MB": median(runs.map((r) => r.rssMb)).toFixed(1),
      "heap MB": median(runs.map((r) => r.heapMb)).toFixed(1),
    });
  }
  table(opens);

  console.log("\nThe server started on it (`alpine-kernel serve`, local backend), median of 5, interleaved");
  const emptyDir = join(dir, "empty");
  mkdirSync(emptyDir);
  const empty: { ms: number; rssMb: number }[] = [];
  const full: { ms: number; rssMb: number }[] = [];
  for (let i = 0; i < 5; i++) {
    empty.push(await serverStart(emptyDir));
    full.push(await serverStart(join(dir, "journal")));
  }
  const e = median(empty.map((r) => r.ms));
  table([
    {
      case: "baseline: empty ledger",
      "start ms": e.toFixed(1),
      "RSS MB": median(empty.map((r) => r.rssMb)).toFixed(1),
      ratio: "1.00×",
    },
    {
      case: `ledger of ${NOTEBOOKS * CELLS} cells`,
      "start ms": median(full.map((r) => r.ms)).toFixed(1),
      "RSS MB": median(full.map((r) => r.rssMb)).toFixed(1),
      ratio: `${(median(full.map((r) => r.ms)) / e).toFixed(2)}×`,
    },
  ]);
  rmSync(dir, { recursive: true, force: true });
}

void main();
