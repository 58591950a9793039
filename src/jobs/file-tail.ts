/**
 * Follows a file the job writes, by byte offset, so a reader that stops (server restart, lost
 * connection) resumes exactly where it was: nothing lost, nothing twice. Reads go in chunks of
 * `READ_CHUNK` bytes, however large the file: a caller loops while `more` says the file has more.
 */
import type { Transport } from "../cluster/transport";

/** Bytes asked per read: what a follower holds in memory for one file at a time. */
export const READ_CHUNK = 4 << 20;

/** Bytes at the end of `b` that begin a UTF-8 sequence whose remaining bytes are not written yet. */
function incompleteUtf8Tail(b: Buffer): number {
  for (let i = 1; i <= Math.min(3, b.length); i++) {
    const c = b[b.length - i]!;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: the lead is further back
    const need = c >= 0xf8 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > i ? i : 0;
  }
  return 0;
}

/** One read: what can be delivered, and whether the file had more than one chunk to give. */
export interface TailRead<T> {
  data: T;
  /** The chunk was full: read again at once, the file has (or may have) more. */
  more: boolean;
}

/**
 * Reads what was appended since `offset` and keeps the bytes not handed out yet (half a character,
 * half a line) for the next read; `offset` counts only what was handed out.
 */
abstract class Tail<T> {
  constructor(
    protected readonly transport: Transport,
    readonly path: string,
    /** Bytes already delivered (a resumed reader starts here). */
    public offset: number,
  ) {}

  /** Bytes read past `offset` and kept for later. */
  protected abstract held(): number;

  protected async readChunk(): Promise<{ buf: Buffer | null; more: boolean }> {
    const buf = await this.transport.readFrom(this.path, this.offset + this.held(), READ_CHUNK);
    return { buf, more: (buf?.length ?? 0) >= READ_CHUNK };
  }

  abstract read(): Promise<TailRead<T>>;
}

/** New text since the last read ("" when none); a partial UTF-8 sequence waits for the next read. */
export class TextTail extends Tail<string> {
  private pending: Buffer = Buffer.alloc(0);

  constructor(transport: Transport, path: string, offset = 0) {
    super(transport, path, offset);
  }

  protected held(): number {
    return this.pending.length;
  }

  /**
   * A requeued Slurm job starts its output files anew (truncated): when the file is now shorter
   * than what was read of it, read it again from its start. True when it did.
   */
  async rewindIfTruncated(): Promise<boolean> {
    if (this.offset + this.pending.length === 0) return false;
    const probe = await this.transport.readFrom(this.path, this.offset + this.pending.length - 1, 1);
    if (probe?.length) return false;
    this.offset = 0;
    this.pending = Buffer.alloc(0);
    return true;
  }

  async read(): Promise<TailRead<string>> {
    const { buf, more } = await this.readChunk();
    if (!buf || buf.length === 0) return { data: "", more: false };
    const all = this.pending.length ? Buffer.concat([this.pending, buf]) : buf;
    const take = all.length - incompleteUtf8Tail(all);
    this.pending = Buffer.from(all.subarray(take));
    this.offset += take;
    return { data: all.subarray(0, take).toString("utf8"), more };
  }
}

/** A line longer than the reader accepts: passed over (never held whole in memory), and said so. */
export interface SkippedLine {
  /** Byte offset of the line's start in the file. */
  at: number;
  bytes: number;
}

export interface LineChunk {
  /** Complete lines (each ending in "\n"), as bytes. */
  lines: Buffer;
  skipped: SkippedLine[];
}

const NO_LINES = Buffer.alloc(0);

/** Only complete lines; `offset` counts only consumed lines. A line over `maxLine` bytes is skipped. */
export class LineTail extends Tail<LineChunk> {
  /** The start of an unfinished line, in the pieces it was read in (joined once its end arrives). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Inside a line too long to keep: where it started, and how much of it was passed over. */
  private skipping: SkippedLine | undefined;

  constructor(
    transport: Transport,
    path: string,
    offset = 0,
    private readonly maxLine = 64 << 20,
  ) {
    super(transport, path, offset);
  }

  protected held(): number {
    return this.partsBytes;
  }

  async read(): Promise<TailRead<LineChunk>> {
    const { buf, more } = await this.readChunk();
    const skipped: SkippedLine[] = [];
    if (!buf || buf.length === 0) return { data: { lines: NO_LINES, skipped }, more: false };
    let chunk = buf;
    if (this.skipping) {
      const skip = this.skipping;
      const nl = chunk.indexOf(0x0a);
      const passed = nl < 0 ? chunk.length : nl + 1;
      skip.bytes += passed;
      this.offset += passed;
      if (nl < 0) return { data: { lines: NO_LINES, skipped }, more };
      skipped.push(skip);
      this.skipping = undefined;
      chunk = chunk.subarray(nl + 1);
    }
    const nl = chunk.lastIndexOf(0x0a);
    let lines = NO_LINES;
    let rest = chunk;
    if (nl >= 0) {
      lines = Buffer.concat([...this.parts, chunk.subarray(0, nl + 1)]);
      rest = chunk.subarray(nl + 1);
      this.parts = [];
      this.partsBytes = 0;
      this.offset += lines.length;
    }
    if (rest.length) {
      this.parts.push(Buffer.from(rest));
      this.partsBytes += rest.length;
    }
    if (this.partsBytes > this.maxLine) {
      // No end in sight: pass the line over instead of holding it (it stays in the file).
      this.skipping = { at: this.offset, bytes: this.partsBytes };
      this.offset += this.partsBytes;
      this.parts = [];
      this.partsBytes = 0;
    }
    return { data: { lines, skipped }, more };
  }
}
