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

/**
 * Reads what was appended since `offset`, and delivers the longest prefix `cut` allows (a whole
 * character, a whole line); the rest waits, unread as far as `offset` is concerned.
 */
class Tail {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly transport: Transport,
    readonly path: string,
    /** Bytes already delivered (a resumed reader starts here). */
    public offset: number,
    private readonly cut: (b: Buffer) => number,
  ) {}

  async read(): Promise<string> {
    const buf = await this.transport.readFrom(this.path, this.offset + this.pending.length);
    if (!buf || buf.length === 0) return "";
    const all = this.pending.length ? Buffer.concat([this.pending, buf]) : buf;
    const take = this.cut(all);
    this.pending = Buffer.from(all.subarray(take));
    this.offset += take;
    return all.subarray(0, take).toString("utf8");
  }
}

/** New text since the last read ("" when none); a partial UTF-8 sequence waits for the next read. */
export class TextTail extends Tail {
  constructor(transport: Transport, path: string, offset = 0) {
    super(transport, path, offset, (b) => b.length - incompleteUtf8Tail(b));
  }
}

/** Only complete lines; `offset` counts only consumed lines. */
export class LineTail extends Tail {
  constructor(transport: Transport, path: string, offset = 0) {
    super(transport, path, offset, (b) => b.lastIndexOf(0x0a) + 1);
  }
}
