/**
 * The durable record of every kernel session and every cell job in flight, so that queued and
 * running cells survive a kernel restart, a closed laptop or a server restart: an fsynced,
 * append-only journal of JSON lines. Each line is a *change* — a whole record (`put`), some fields
 * (`set`), one item added to a bounded list (`push`), a removal (`del`) — so a cell costs a few
 * hundred bytes whatever its notebook's history holds. Compacted (rewritten as one `put` per live
 * record) when the journal holds more than twice what is live. Why a journal and not SQLite:
 * BENCHMARKS.md, "The ledger".
 *
 * Start-up reads the journal in a streaming way; a journal with lines that cannot be read, or
 * larger than a ledger should ever be, is set aside (renamed, kept for inspection) and what could
 * be read is written back compacted, with a message saying so: never a server that cannot start.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { AlpineKernelError } from "../errors";
import { readJournal } from "./journal-reader";

export interface LedgerEntry {
  kind: string;
  id: string;
  [field: string]: unknown;
}

/** Keep the newest items of a list: at most `items` of them, at most `chars` of JSON together. */
export interface ListBound {
  items: number;
  chars: number;
}

type Line =
  | { op: "put"; rec: LedgerEntry }
  | { op: "set"; kind: string; id: string; fields: Record<string, unknown> }
  | { op: "push"; kind: string; id: string; field: string; item: unknown; bound: ListBound }
  | { op: "del"; kind: string; id: string };

export interface WriteOptions {
  /**
   * Flush to disk (fdatasync, once for every write of the same tick) — true by default. Offsets of
   * delivered output pass false: a machine crash then repeats a little output, a killed server
   * loses nothing either way (the page cache outlives the process).
   */
  durable?: boolean;
}

export interface LedgerOptions {
  /** Told what opening did to a damaged or oversized journal. */
  warn?: (message: string) => void;
  /** Bytes beyond which a journal is set aside after reading it (default 256 MiB). */
  maxBytes?: number;
}

/** A record beyond this is refused: the callers bound what they store (history entries, names). */
export const MAX_RECORD_BYTES = 16 << 20;
const COMPACT_MIN_BYTES = 4 << 20;

export class LedgerError extends AlpineKernelError {}

export class Ledger {
  private readonly records = new Map<string, LedgerEntry>();
  private fd = -1;
  private bytes = 0;
  private liveBytes = 0;
  private syncDue = false;
  /** What writing cost so far (for the bench and /api/metrics). */
  readonly stats = { writes: 0, bytesWritten: 0, syncs: 0, writeMs: 0, compactions: 0 };

  constructor(
    readonly path: string,
    private readonly options: LedgerOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.load();
  }

  private load(): void {
    const report = readJournal(this.path, MAX_RECORD_BYTES + 1024, (text) => {
      try {
        return this.apply(JSON.parse(text) as Line);
      } catch {
        return false;
      }
    });
    const limit = this.options.maxBytes ?? 256 << 20;
    const problem = report.damaged
      ? `${report.damaged} line(s) could not be read (the first: ${JSON.stringify(report.firstDamage)})`
      : report.bytes > limit
        ? `it had grown to ${(report.bytes / (1 << 20)).toFixed(0)} MiB (written by an older version, which kept whole snapshots)`
        : undefined;
    if (problem) {
      const aside = `${this.path}.set-aside-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      renameSync(this.path, aside);
      this.options.warn?.(
        `ledger ${this.path}: ${problem}. It was set aside as ${aside}; the ${this.records.size} record(s) that could be read were kept. Cells it recorded that are not listed by %squeue may be followed by hand with %slurm output JOBID.`,
      );
    }
    // Rewritten at start only when it holds much more than what is live (or was set aside).
    if (problem || report.tornTail || report.lines > 2 * this.records.size + 1000) this.compact();
    else this.bytes = this.liveBytes = report.bytes;
  }

  /** Applies one journal line to the records; false when it is not a ledger operation. */
  private apply(line: Line): boolean {
    switch (line?.op) {
      case "put":
        if (typeof line.rec?.kind !== "string" || typeof line.rec.id !== "string") return false;
        this.records.set(key(line.rec.kind, line.rec.id), line.rec);
        return true;
      case "set": {
        const rec = this.records.get(key(line.kind, line.id));
        if (rec)
          for (const [k, v] of Object.entries(line.fields)) {
            if (v === null) delete rec[k];
            else rec[k] = v;
          }
        return typeof line.fields === "object";
      }
      case "push": {
        const rec = this.records.get(key(line.kind, line.id));
        if (rec) {
          const list = Array.isArray(rec[line.field]) ? (rec[line.field] as unknown[]) : [];
          rec[line.field] = pushBounded(list, line.item, line.bound);
        }
        return typeof line.field === "string";
      }
      case "del":
        this.records.delete(key(line.kind, line.id));
        return true;
      default:
        return false;
    }
  }

  put<T extends LedgerEntry>(record: T, options?: WriteOptions): void {
    const rec: LedgerEntry = structuredClone({ ...record });
    this.write({ op: "put", rec }, options);
  }

  /** Changes some fields of a record (null removes one; nothing when there is no such record). */
  update(kind: string, id: string, fields: Record<string, unknown>, options?: WriteOptions): void {
    if (!this.records.has(key(kind, id))) return;
    this.write({ op: "set", kind, id, fields: structuredClone(fields) }, options);
  }

  /** Adds an item to a list field of a record, keeping the newest items within `bound`. */
  push(
    kind: string,
    id: string,
    field: string,
    item: unknown,
    bound: ListBound,
    options?: WriteOptions,
  ): void {
    if (!this.records.has(key(kind, id))) return;
    this.write({ op: "push", kind, id, field, item: structuredClone(item), bound }, options);
  }

  remove(kind: string, id: string): void {
    if (!this.records.has(key(kind, id))) return;
    this.write({ op: "del", kind, id });
  }

  get<T extends LedgerEntry>(kind: string, id: string): T | undefined {
    return this.records.get(key(kind, id)) as T | undefined;
  }

  list<T extends LedgerEntry>(kind: string): T[] {
    return [...this.records.values()].filter((r) => r.kind === kind) as T[];
  }

  /** Flushes what was written to disk now (a clean shutdown). */
  flush(): void {
    if (this.syncDue && this.fd >= 0) this.sync();
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private write(line: Line, options: WriteOptions = {}): void {
    const text = JSON.stringify(line) + "\n";
    const size = Buffer.byteLength(text);
    if (size > MAX_RECORD_BYTES)
      throw new LedgerError(
        "LEDGER_RECORD_TOO_LARGE",
        `a ledger record of ${size} bytes is more than ${MAX_RECORD_BYTES}`,
      );
    this.apply(line);
    const t0 = performance.now();
    if (this.fd < 0) this.fd = openSync(this.path, "a", 0o600);
    writeSync(this.fd, text);
    this.bytes += size;
    this.stats.writes++;
    this.stats.bytesWritten += size;
    if (options.durable !== false && !this.syncDue) {
      this.syncDue = true;
      setImmediate(() => this.flush()).unref();
    }
    this.stats.writeMs += performance.now() - t0;
    if (this.bytes > Math.max(COMPACT_MIN_BYTES, 2 * this.liveBytes)) this.compact();
  }

  private sync(): void {
    const t0 = performance.now();
    fdatasyncSync(this.fd);
    this.syncDue = false;
    this.stats.syncs++;
    this.stats.writeMs += performance.now() - t0;
  }

  /** Rewrites the journal as one `put` per live record: written aside, fsynced, renamed over it. */
  private compact(): void {
    const t0 = performance.now();
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    let bytes = 0;
    try {
      for (const rec of this.records.values())
        bytes += writeSync(fd, JSON.stringify({ op: "put", rec }) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.fd >= 0) closeSync(this.fd);
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, "a", 0o600);
    syncDir(dirname(this.path));
    this.bytes = this.liveBytes = bytes;
    this.syncDue = false;
    this.stats.compactions++;
    this.stats.writeMs += performance.now() - t0;
  }

  /** Size of the journal on disk now. */
  get sizeOnDisk(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }
}

/** JSON characters of each bounded list, kept up to date as items come and go (no rescan per push). */
const listChars = new WeakMap<object, number>();
const charsOf = (item: unknown) => JSON.stringify(item)?.length ?? 0;

/** Adds `item` to `list` and drops the oldest items beyond `bound` (the newest always stays). */
export function pushBounded<T>(list: T[], item: T, bound: ListBound): T[] {
  let chars = listChars.get(list) ?? list.reduce<number>((n, x) => n + charsOf(x), 0);
  list.push(item);
  chars += charsOf(item);
  let drop = 0;
  while (list.length - drop > 1 && (list.length - drop > bound.items || chars > bound.chars))
    chars -= charsOf(list[drop++]);
  if (drop) list.splice(0, drop);
  listChars.set(list, chars);
  return list;
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every file system lets a directory be fsynced; the rename itself is atomic
  }
}

function key(kind: string, id: string): string {
  return `${kind}\u0000${id}`;
}
