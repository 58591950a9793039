/** The ledger: what a restarted server reads back, a torn last line after a crash, compaction. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger } from "../../../src/ledger/ledger";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "ak-ledger-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (p: string) => readFileSync(p, "utf8").split("\n").filter(Boolean);

test("a new ledger (directory created) is empty", () => {
  const l = new Ledger(join(dir, "deep", "er", "ledger.jsonl"));
  expect(l.list("session")).toEqual([]);
  expect(l.get("session", "x")).toBeUndefined();
});

test("what one instance wrote, a restarted one reads back (last write of an id wins, removals stick)", () => {
  const p = join(dir, "ledger.jsonl");
  const a = new Ledger(p);
  a.put({ kind: "session", id: "s1", executionCount: 1 });
  a.put({ kind: "session", id: "s2", executionCount: 7 });
  a.put({ kind: "cell", id: "s1/1", offsets: { events: 10, stdout: 0, stderr: 0 } });
  a.put({ kind: "session", id: "s1", executionCount: 2 });
  a.put({ kind: "cell", id: "s1/1", offsets: { events: 250, stdout: 3, stderr: 0 } });
  a.remove("session", "s2");
  a.remove("session", "never-there"); // no line for what was not there

  const b = new Ledger(p);
  expect(b.list("session")).toEqual([{ kind: "session", id: "s1", executionCount: 2 }]);
  expect(b.get("cell", "s1/1")).toEqual({
    kind: "cell",
    id: "s1/1",
    offsets: { events: 250, stdout: 3, stderr: 0 },
  });
  // Opening compacts: one line per live record.
  expect(lines(p)).toHaveLength(2);
});

test("kinds are separate namespaces for ids", () => {
  const l = new Ledger(join(dir, "l.jsonl"));
  l.put({ kind: "session", id: "same" });
  l.put({ kind: "cell", id: "same" });
  l.remove("cell", "same");
  expect(new Ledger(l.path).get("session", "same")).toEqual({ kind: "session", id: "same" });
});

test("put stores a copy: mutating the caller's object later does not change the record", () => {
  const l = new Ledger(join(dir, "l.jsonl"));
  const rec = { kind: "session", id: "s", n: 1 };
  l.put(rec);
  rec.n = 99;
  expect(l.get("session", "s")).toMatchObject({ n: 1 });
});

test.each([
  ["half a JSON object", '{"op":"put","rec":{"kind":"session","id":"torn","exec'],
  ["a line of NUL bytes", "\u0000\u0000\u0000\u0000"],
  ["valid JSON cut at a number", '{"op":"del","kind":"session","id":"s1"'],
])("a torn last line (%s) is ignored; everything before it is intact", (_name, torn) => {
  const p = join(dir, "ledger.jsonl");
  const a = new Ledger(p);
  a.put({ kind: "session", id: "s1", executionCount: 4 });
  a.put({ kind: "session", id: "s2", executionCount: 5 });
  appendFileSync(p, torn);
  const b = new Ledger(p);
  expect(
    b
      .list("session")
      .map((r) => r.id)
      .sort(),
  ).toEqual(["s1", "s2"]);
  // The torn line is gone after the compaction on open, and new writes land on their own lines.
  b.put({ kind: "session", id: "s3", executionCount: 1 });
  expect(new Ledger(p).list("session")).toHaveLength(3);
  expect(readFileSync(p, "utf8")).not.toContain(torn);
});

test("a torn line in the middle (crash, then more writes) loses only that line", () => {
  const p = join(dir, "ledger.jsonl");
  writeFileSync(
    p,
    [
      JSON.stringify({ op: "put", rec: { kind: "session", id: "a" } }),
      '{"op":"put","rec":{"kind":"sess',
      JSON.stringify({ op: "put", rec: { kind: "session", id: "b" } }),
      "",
    ].join("\n"),
  );
  expect(new Ledger(p).list("session").map((r) => r.id)).toEqual(["a", "b"]);
});

test("compaction: many updates of few records keep the file small and the records right", () => {
  const p = join(dir, "ledger.jsonl");
  const l = new Ledger(p);
  for (let i = 0; i < 5000; i++) {
    l.put({ kind: "cell", id: `k/${i % 3}`, offsets: { events: i, stdout: 0, stderr: 0 } });
  }
  l.put({ kind: "session", id: "k" });
  // Compaction runs once lines exceed 2000 and 4× the live records: never more than ~2000 lines.
  expect(lines(p).length).toBeLessThanOrEqual(2001);
  expect(statSync(p).size).toBeLessThan(300_000);
  const back = new Ledger(p);
  expect(
    back
      .list("cell")
      .map((r) => [r.id, (r.offsets as { events: number }).events])
      .sort(),
  ).toEqual([
    ["k/0", 4998],
    ["k/1", 4999],
    ["k/2", 4997],
  ]);
  expect(back.get("session", "k")).toBeDefined();
});

test("the ledger file is private to the user (0600)", () => {
  const p = join(dir, "ledger.jsonl");
  const l = new Ledger(p);
  l.put({ kind: "session", id: "s" });
  expect(statSync(p).mode & 0o777).toBe(0o600);
});
