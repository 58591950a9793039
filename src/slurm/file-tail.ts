/**
 * Follows a file the job writes, by byte offset, so a reader that stops (server restart, lost
 * connection) resumes exactly where it was: nothing lost, nothing twice.
 */
import { StringDecoder } from "node:string_decoder";
import type { Transport } from "../cluster/transport";

export class TextTail {
  private decoder = new StringDecoder("utf8");

  constructor(
    private readonly transport: Transport,
    readonly path: string,
    /** Bytes already delivered. */
    public offset = 0,
  ) {}

  /** New text since the last read ("" when none); partial UTF-8 sequences wait for the next read. */
  async read(): Promise<string> {
    const buf = await this.transport.readFrom(this.path, this.offset);
    if (!buf || buf.length === 0) return "";
    this.offset += buf.length;
    return this.decoder.write(buf);
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
