/**
 * Following a file the job writes, by byte offset, with the real local transport: partial UTF-8
 * sequences and partial lines wait for the rest; a new reader started at a saved offset continues
 * exactly where the old one stopped.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../../../src/cluster/local-transport";
import { LineTail, TextTail } from "../../../src/jobs/file-tail";

const transport = new LocalTransport();
let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-tail-"));
  file = join(dir, "out");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

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
    const t = new TextTail(transport, file);
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
    const t = new TextTail(transport, file);
    const got = await feed(t, bytes, sizes);
    expect(got.join("")).toBe(text);
    expect(got.every((s) => !s.includes("\ufffd"))).toBe(true);
    expect(t.offset).toBe(bytes.length);
  });

  test("invalid bytes become U+FFFD rather than stalling the stream", async () => {
    const t = new TextTail(transport, file);
    writeFileSync(file, Buffer.from([0x61, 0xff, 0x62]));
    expect(await t.read()).toBe("a\ufffdb");
  });

  test("a reader resumed at a saved offset continues exactly: nothing lost, nothing twice", async () => {
    const all = Array.from({ length: 200 }, (_, i) => `line ${i} ✓\n`).join("");
    const buf = Buffer.from(all);
    const first = new TextTail(transport, file);
    writeFileSync(file, buf.subarray(0, 1234));
    const a = await first.read();
    const saved = first.offset; // what the ledger records
    appendFileSync(file, buf.subarray(1234));
    const second = new TextTail(transport, file, saved);
    const b = await second.read();
    expect(a + b).toBe(all);
  });

  test("a reader resumed at an offset saved while a character was half written loses nothing", async () => {
    const bytes = Buffer.from("ab😀cd");
    const first = new TextTail(transport, file);
    writeFileSync(file, bytes.subarray(0, 4)); // "ab" + 2 of the 4 bytes of 😀
    expect(await first.read()).toBe("ab");
    const saved = first.offset;
    appendFileSync(file, bytes.subarray(4));
    const second = new TextTail(transport, file, saved);
    expect(await second.read()).toBe("😀cd");
  });

  test("reads are bounded (4 MB) and a large file arrives complete over several reads", async () => {
    const big = Buffer.from("0123456789abcdef".repeat(600_000)); // 9.6 MB
    writeFileSync(file, big);
    const t = new TextTail(transport, file);
    const parts: string[] = [];
    for (let s = await t.read(); s; s = await t.read()) parts.push(s);
    expect(parts.length).toBe(3);
    expect(parts.join("")).toBe(big.toString());
  });
});

describe("LineTail", () => {
  test("hands out only complete lines; the offset counts consumed lines only", async () => {
    const t = new LineTail(transport, file);
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
    const t = new LineTail(transport, file);
    const got = await feed(t, line, [11, 1, 1, 5, 1]);
    expect(got.join("")).toBe(line.toString());
  });

  test("a resumed reader (saved offset) starts at the unconsumed partial line, nothing repeated", async () => {
    const first = new LineTail(transport, file);
    writeFileSync(file, "one\ntwo\nthr");
    expect(await first.read()).toBe("one\ntwo\n");
    const saved = first.offset;
    expect(saved).toBe(8);
    appendFileSync(file, "ee\nfour\n");
    const second = new LineTail(transport, file, saved);
    expect(await second.read()).toBe("three\nfour\n");
    expect(second.offset).toBe(19);
  });

  test.each([1, 2, 3, 7, 64])("any chunking (%d bytes) gives the same lines", async (n) => {
    const text =
      Array.from({ length: 30 }, (_, i) => JSON.stringify({ i, s: "é".repeat(i) })).join("\n") + "\n";
    const bytes = Buffer.from(text);
    const t = new LineTail(transport, file);
    const got = await feed(t, bytes, Array(Math.floor(bytes.length / n)).fill(n) as number[]);
    expect(got.join("")).toBe(text);
    expect(t.offset).toBe(bytes.length);
  });
});
