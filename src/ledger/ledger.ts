/**
 * The durable record of every kernel session and every cell job in flight, so that queued and
 * running cells survive a kernel restart, a closed laptop or a server restart. An append-only
 * JSON-lines file (last write of an id wins), compacted when it grows.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface LedgerEntry {
  kind: string;
  id: string;
  [field: string]: unknown;
}

type Line = { op: "put"; rec: LedgerEntry } | { op: "del"; kind: string; id: string };

const COMPACT_MIN_LINES = 2000;

export class Ledger {
  private readonly records = new Map<string, LedgerEntry>();
  private lines = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const raw of text.split("\n")) {
      if (!raw.trim()) continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // a torn last line after a crash: everything before it is intact
      }
      if (line.op === "put") this.records.set(key(line.rec.kind, line.rec.id), line.rec);
      else this.records.delete(key(line.kind, line.id));
    }
    this.compact();
  }

  put<T extends LedgerEntry>(record: T): void {
    const rec: LedgerEntry = { ...record };
    this.records.set(key(record.kind, record.id), rec);
    this.append({ op: "put", rec });
  }

  remove(kind: string, id: string): void {
    if (!this.records.delete(key(kind, id))) return;
    this.append({ op: "del", kind, id });
  }

  get<T extends LedgerEntry>(kind: string, id: string): T | undefined {
    return this.records.get(key(kind, id)) as T | undefined;
  }

  list<T extends LedgerEntry>(kind: string): T[] {
    return [...this.records.values()].filter((r) => r.kind === kind) as T[];
  }

  private append(line: Line): void {
    appendFileSync(this.path, JSON.stringify(line) + "\n", { mode: 0o600 });
    if (++this.lines > COMPACT_MIN_LINES && this.lines > 4 * this.records.size) this.compact();
  }

  private compact(): void {
    const tmp = `${this.path}.tmp`;
    const body = [...this.records.values()].map((rec) => JSON.stringify({ op: "put", rec }) + "\n").join("");
    writeFileSync(tmp, body, { mode: 0o600 });
    renameSync(tmp, this.path);
    this.lines = this.records.size;
  }
}

function key(kind: string, id: string): string {
  return `${kind}\u0000${id}`;
}
