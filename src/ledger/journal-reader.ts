/**
 * Reads a ledger journal at start-up in a streaming way: 1 MiB at a time, one line at a time, never
 * the file as one string (a 700 MB journal of an older version once killed the server with "Cannot
 * create a string longer than 0x1fffffe8 characters"). Lines that cannot be read are counted, not
 * fatal: the caller keeps what could be read and sets the file aside.
 */
import { closeSync, openSync, readSync } from "node:fs";

const CHUNK = 1 << 20;

export interface ReadReport {
  /** Lines that are not a ledger operation (cut, garbled, or too long to read). */
  damaged: number;
  /** The last line had no newline: a write cut short by a crash (normal, not damage). */
  tornTail: boolean;
  bytes: number;
  lines: number;
  firstDamage?: string;
}

/** Calls `onLine` with each complete line's text (lines over `maxLine` bytes are skipped as damage). */
export function readJournal(path: string, maxLine: number, onLine: (line: string) => boolean): ReadReport {
  const report: ReadReport = { damaged: 0, tornTail: false, bytes: 0, lines: 0 };
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return report;
    throw err;
  }
  const damage = (what: string) => {
    report.damaged++;
    report.firstDamage ??= what;
  };
  try {
    const buf = Buffer.alloc(CHUNK);
    let parts: Buffer[] = [];
    let held = 0;
    let tooLong = false;
    const line = (piece: Buffer) => {
      const all = parts.length ? Buffer.concat([...parts, piece]) : piece;
      parts = [];
      held = 0;
      if (tooLong) {
        tooLong = false;
        damage(`a line of more than ${maxLine} bytes`);
        return;
      }
      report.lines++;
      const text = all.toString("utf8");
      if (text.trim() && !onLine(text)) damage(text.slice(0, 120));
    };
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      report.bytes += n;
      let chunk = buf.subarray(0, n);
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a)) {
        line(chunk.subarray(0, nl));
        chunk = chunk.subarray(nl + 1);
      }
      if (!chunk.length) continue;
      held += chunk.length;
      if (held > maxLine) {
        tooLong = true; // keep nothing more of it; its end is counted as one damaged line
        parts = [];
      } else parts.push(Buffer.from(chunk));
    }
    if (held > 0 || tooLong) report.tornTail = true; // a last line without its newline: a cut write
  } finally {
    closeSync(fd);
  }
  return report;
}
