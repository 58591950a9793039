/**
 * Following a file the job writes, by byte offset, with the real local transport: partial UTF-8
 * sequences and partial lines wait for the rest; a new reader started at a saved offset continues
 * exactly where the old one stopped.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../../../src/cluster/local-transport";
import { LineTail, READ_CHUNK, TextTail, type SkippedLine } from "../../../src/jobs/file-tail";

const transport = new LocalTransport();
let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-tail-"));
  file = join(dir, "out");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A tail read as text: the text handed out, and its offset. */
interface TextReader {
  read(): Promise<string>;
  readonly offset: number;
}
function textOf(transport: LocalTransport, path: string, offset = 0): TextReader {
  const t = new TextTail(transport, path, offset);
  return {
    read: async () => (await t.read()).data,
    get offset() {
      return t.offset;
    },
  };
}
function linesOf(
  transport: LocalTransport,
  path: string,
  offset = 0,
  skipped: SkippedLine[] = [],
  maxLine?: number,
): TextReader {
  const t = new LineTail(transport, path, offset, maxLine);
  return {
    read: async () => {
      const { data } = await t.read();
      skipped.push(...data.skipped);
      return data.lines.toString("utf8");
    },
    get offset() {
      return t.offset;
    },
  };
}

/** Appends `bytes` to the file in pieces of the given sizes, reading after each piece. */
async function feed(tail: { read(): Promise<string> }, bytes: Buffer, sizes: number[]): Promise<string[]> {
  const got: string[] = [];
  let at = 0;
  for (const n of sizes) {
    appendFileSync(file, bytes.subarray(at, at + n));
    at += n;
    got.push(await tail.read());
  }
  if (at < bytes.length) {
    appendFileSync(file, bytes.subarray(at));
    got.push(await tail.read());
  }
  return got;
}

describe("TextTail", () => {
  test("a missing file reads as nothing, and is followed once it appears", async () => {
    const t = textOf(transport, file);
    expect(await t.read()).toBe("");
    writeFileSync(file, "hello\n");
    expect(await t.read()).toBe("hello\n");
    expect(await t.read()).toBe("");
    expect(t.offset).toBe(6);
  });

  const text = "aé€😀z"; // 1-, 2-, 3- and 4-byte UTF-8 sequences
  const bytes = Buffer.from(text);
  test.each([
    ["one byte at a time", Array(bytes.length).fill(1) as number[]],
    ["cut inside é", [2]],
    ["cut inside €", [4, 1]],
    ["cut inside 😀 after 1, 2 and 3 of its bytes", [7, 1, 1, 1]],
  ])("partial UTF-8 sequences wait for their last byte: %s", async (_name, sizes) => {
    const t = textOf(transport, file);
    const got = await feed(t, bytes, sizes);
    expect(got.join("")).toBe(text);
    expect(got.every((s) => !s.includes("\ufffd"))).toBe(true);
    expect(t.offset).toBe(bytes.length);
  });

  test("invalid bytes become U+FFFD rather than stalling the stream", async () => {
    const t = textOf(transport, file);
    writeFileSync(file, Buffer.from([0x61, 0xff, 0x62]));
    expect(await t.read()).toBe("a\ufffdb");
  });

  test("a reader resumed at a saved offset continues exactly: nothing lost, nothing twice", async () => {
    const all = Array.from({ length: 200 }, (_, i) => `line ${i} ✓\n`).join("");
    const buf = Buffer.from(all);
    const first = textOf(transport, file);
    writeFileSync(file, buf.subarray(0, 1234));
    const a = await first.read();
    const saved = first.offset; // what the ledger records
    appendFileSync(file, buf.subarray(1234));
    const second = textOf(transport, file, saved);
    const b = await second.read();
    expect(a + b).toBe(all);
  });

  test("a reader resumed at an offset saved while a character was half written loses nothing", async () => {
    const bytes = Buffer.from("ab😀cd");
    const first = textOf(transport, file);
    writeFileSync(file, bytes.subarray(0, 4)); // "ab" + 2 of the 4 bytes of 😀
    expect(await first.read()).toBe("ab");
    const saved = first.offset;
    appendFileSync(file, bytes.subarray(4));
    const second = textOf(transport, file, saved);
    expect(await second.read()).toBe("😀cd");
  });

  test("reads are bounded (4 MiB) and a large file arrives complete over several reads; `more` says when to read on", async () => {
    const big = Buffer.from("0123456789abcdef".repeat(600_000)); // 9.6 MB
    writeFileSync(file, big);
    const t = new TextTail(transport, file);
    const parts: string[] = [];
    const more: boolean[] = [];
    for (let r = await t.read(); r.data; r = await t.read()) {
      parts.push(r.data);
      more.push(r.more);
    }
    expect(parts.map((p) => p.length)).toEqual([READ_CHUNK, READ_CHUNK, big.length - 2 * READ_CHUNK]);
    expect(more).toEqual([true, true, false]);
    expect(parts.join("")).toBe(big.toString());
  });
});

describe("LineTail", () => {
  test("hands out only complete lines; the offset counts consumed lines only", async () => {
    const t = linesOf(transport, file);
    writeFileSync(file, '{"a":1}\n{"b":');
    expect(await t.read()).toBe('{"a":1}\n');
    expect(t.offset).toBe(8);
    expect(await t.read()).toBe("");
    appendFileSync(file, "2}\n");
    expect(await t.read()).toBe('{"b":2}\n');
    expect(t.offset).toBe(16);
  });

  test("a line split inside a multi-byte character arrives intact", async () => {
    const line = Buffer.from('{"text":"日本語 😀"}\n');
    const t = linesOf(transport, file);
    const got = await feed(t, line, [11, 1, 1, 5, 1]);
    expect(got.join("")).toBe(line.toString());
  });

  test("a resumed reader (saved offset) starts at the unconsumed partial line, nothing repeated", async () => {
    const first = linesOf(transport, file);
    writeFileSync(file, "one\ntwo\nthr");
    expect(await first.read()).toBe("one\ntwo\n");
    const saved = first.offset;
    expect(saved).toBe(8);
    appendFileSync(file, "ee\nfour\n");
    const second = linesOf(transport, file, saved);
    expect(await second.read()).toBe("three\nfour\n");
    expect(second.offset).toBe(19);
  });

  test.each([1, 2, 3, 7, 64])("any chunking (%d bytes) gives the same lines", async (n) => {
    const text =
      Array.from({ length: 30 }, (_, i) => JSON.stringify({ i, s: "é".repeat(i) })).join("\n") + "\n";
    const bytes = Buffer.from(text);
    const t = linesOf(transport, file);
    const got = await feed(t, bytes, Array(Math.floor(bytes.length / n)).fill(n) as number[]);
    expect(got.join("")).toBe(text);
    expect(t.offset).toBe(bytes.length);
  });

  test("a line of 20 MiB arrives whole, as one line, after several reads", async () => {
    const line = `{"text":"${"y".repeat(20 << 20)}"}\n`;
    writeFileSync(file, line + '{"end":1}\n');
    const t = linesOf(transport, file);
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(await t.read());
    expect(parts.join("")).toBe(line + '{"end":1}\n');
    expect(parts.filter(Boolean).length).toBe(1);
  });

  test("a line longer than the limit is passed over (not held in memory) and reported; the next lines arrive", async () => {
    const skipped: SkippedLine[] = [];
    const t = linesOf(transport, file, 0, skipped, 100);
    writeFileSync(file, `{"a":1}\n${"x".repeat(150)}`);
    expect(await t.read()).toBe('{"a":1}\n');
    appendFileSync(file, `${"x".repeat(50)}\n{"b":2}\n`);
    expect(await t.read()).toBe('{"b":2}\n');
    expect(skipped).toEqual([{ at: 8, bytes: 201 }]);
    expect(t.offset).toBe(8 + 201 + 8);
  });
});
