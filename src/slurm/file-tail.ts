/**
 * Follows a file the job writes, by byte offset, so a reader that stops (server restart, lost
 * connection) resumes exactly where it was: nothing lost, nothing twice.
 */
import type { Transport } from "../cluster/transport";

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

export class TextTail {
  /** The start of a character whose last bytes are not in the file yet (not counted in `offset`). */
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly transport: Transport,
    readonly path: string,
    /** Bytes already delivered (always at a character boundary, so a resumed reader decodes cleanly). */
    public offset = 0,
  ) {}

  /** New text since the last read ("" when none); partial UTF-8 sequences wait for the next read. */
  async read(): Promise<string> {
    const buf = await this.transport.readFrom(this.path, this.offset + this.pending.length);
    if (!buf || buf.length === 0) return "";
    const all = this.pending.length ? Buffer.concat([this.pending, buf]) : buf;
    const complete = all.length - incompleteUtf8Tail(all);
    this.pending = Buffer.from(all.subarray(complete));
    this.offset += complete;
    return all.subarray(0, complete).toString("utf8");
  }
}

/** Like TextTail, but hands out only complete lines; `offset` counts only consumed lines. */
export class LineTail {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly transport: Transport,
    readonly path: string,
    public offset = 0,
  ) {}

  async read(): Promise<string> {
    const buf = await this.transport.readFrom(this.path, this.offset + this.pending.length);
    if (!buf || buf.length === 0) return "";
    const all = this.pending.length ? Buffer.concat([this.pending, buf]) : buf;
    const end = all.lastIndexOf(0x0a);
    if (end < 0) {
      this.pending = all;
      return "";
    }
    this.pending = Buffer.from(all.subarray(end + 1));
    this.offset += end + 1;
    return all.subarray(0, end + 1).toString("utf8");
  }
}
