/** The ledger: what a restarted server reads back, a torn last line after a crash, compaction. */
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger, pushBounded } from "../../../src/ledger/ledger";

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
  // A journal holding little more than what is live is not rewritten at every start.
  expect(lines(p)).toHaveLength(6);
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
  for (let i = 0; i < 150_000; i++) l.update("cell", `k/${i % 3}`, { n: i }, { durable: false });
  l.put({ kind: "session", id: "k" });
  // Compaction runs once the journal holds more than 4 MiB and twice what is live.
  expect(statSync(p).size).toBeLessThan(4 << 20);
  expect(l.stats.compactions).toBeGreaterThan(1);
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
  expect(back.get("cell", "k/2")).toMatchObject({ n: 149_999 });
  expect(back.get("session", "k")).toBeDefined();
});

describe("changes, not snapshots", () => {
  test("update writes only the fields it changes; null removes a field; unknown records are left alone", () => {
    const p = join(dir, "ledger.jsonl");
    const l = new Ledger(p);
    l.put({ kind: "session", id: "s", history: [[1, "x = 1"]], executionCount: 1, names: { x: "int" } });
    const before = statSync(p).size;
    l.update("session", "s", { executionCount: 2 });
    l.update("session", "s", { names: null });
    l.update("session", "nobody", { executionCount: 9 });
    expect(statSync(p).size - before).toBeLessThan(150);
    expect(
      lines(p)
        .slice(-2)
        .map((x) => JSON.parse(x) as unknown),
    ).toEqual([
      { op: "set", kind: "session", id: "s", fields: { executionCount: 2 } },
      { op: "set", kind: "session", id: "s", fields: { names: null } },
    ]);
    const back = new Ledger(p);
    expect(back.get("session", "s")).toEqual({
      kind: "session",
      id: "s",
      history: [[1, "x = 1"]],
      executionCount: 2,
    });
    expect(back.get("session", "nobody")).toBeUndefined();
  });

  test("push adds one item and keeps the newest within the bound, the same when read back", () => {
    const p = join(dir, "ledger.jsonl");
    const l = new Ledger(p);
    l.put({ kind: "session", id: "s", history: [] });
    const bound = { items: 5, chars: 59 };
    for (let i = 1; i <= 8; i++) l.push("session", "s", "history", [i, "c".repeat(i)], bound);
    // By count: the last 5; by size: [4,"cccc"] is 10 characters of JSON, 4 to 8 would be 60, more than 59.
    const h = l.get("session", "s")!.history as [number, string][];
    expect(h.map(([n]) => n)).toEqual([5, 6, 7, 8]);
    // One line per push, a few dozen bytes each.
    expect(lines(p).filter((x) => x.includes('"op":"push"'))).toHaveLength(8);
    expect(new Ledger(p).get("session", "s")!.history).toEqual(h);
  });

  test("pushBounded keeps at least the newest item, however large", () => {
    const list: string[] = ["a", "b"];
    expect(pushBounded(list, "x".repeat(100), { items: 10, chars: 10 })).toEqual(["x".repeat(100)]);
  });

  test("a record larger than 16 MiB is refused with a typed error, and nothing is written", () => {
    const p = join(dir, "ledger.jsonl");
    const l = new Ledger(p);
    expect(() => l.put({ kind: "session", id: "big", blob: "x".repeat(17 << 20) })).toThrow(
      expect.objectContaining({ code: "LEDGER_RECORD_TOO_LARGE" }) as Error,
    );
    expect(l.get("session", "big")).toBeUndefined();
    expect(new Ledger(p).get("session", "big")).toBeUndefined();
  });
});

describe("start-up with a bad journal: set aside with a message, never a server that cannot start", () => {
  test("garbled lines in the middle: what could be read is kept, the file set aside and named", () => {
    const p = join(dir, "ledger.jsonl");
    writeFileSync(
      p,
      [
        JSON.stringify({ op: "put", rec: { kind: "session", id: "a" } }),
        "#### not json ####",
        JSON.stringify({ op: "frobnicate" }),
        JSON.stringify({ op: "put", rec: { kind: "session", id: "b" } }),
        "",
      ].join("\n"),
    );
    const warnings: string[] = [];
    const l = new Ledger(p, { warn: (m) => warnings.push(m) });
    expect(l.list("session").map((r) => r.id)).toEqual(["a", "b"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/2 line\(s\) could not be read .*not json/);
    const aside = /set aside as (\S+);/.exec(warnings[0]!)![1]!;
    expect(readFileSync(aside, "utf8")).toMatch(/not json/);
    expect(readdirSync(dir).filter((f) => f.includes("set-aside"))).toHaveLength(1);
    // The ledger itself is clean again: the next start says nothing.
    const again: string[] = [];
    new Ledger(p, { warn: (m) => again.push(m) });
    expect(again).toEqual([]);
  });

  test("an oversized journal of whole snapshots (an older version's) is read in a streaming way, its records kept, the file set aside", () => {
    const p = join(dir, "ledger.jsonl");
    const big = "y".repeat(3 << 20);
    const body: string[] = [];
    for (let i = 1; i <= 8; i++)
      body.push(
        JSON.stringify({
          op: "put",
          rec: { kind: "session", id: "s", executionCount: i, history: [[1, big]] },
        }),
      );
    writeFileSync(p, body.join("\n") + "\n");
    const warnings: string[] = [];
    const l = new Ledger(p, { warn: (m) => warnings.push(m), maxBytes: 16 << 20 });
    expect(l.get("session", "s")).toMatchObject({ executionCount: 8 });
    expect(warnings[0]).toMatch(/grown to 24 MiB .*set aside as/);
    expect(statSync(p).size).toBeLessThan(4 << 20);
  });

  test("a line too long to read (more than 16 MiB) is skipped without holding it, the rest is kept", () => {
    const p = join(dir, "ledger.jsonl");
    writeFileSync(
      p,
      `${JSON.stringify({ op: "put", rec: { kind: "session", id: "a" } })}\n${"z".repeat(17 << 20)}\n${JSON.stringify({ op: "put", rec: { kind: "session", id: "b" } })}\n`,
    );
    const warnings: string[] = [];
    const l = new Ledger(p, { warn: (m) => warnings.push(m) });
    expect(l.list("session").map((r) => r.id)).toEqual(["a", "b"]);
    expect(warnings[0]).toMatch(/1 line\(s\) could not be read \(the first: "a line of more than/);
  });
});

test("the ledger file is private to the user (0600)", () => {
  const p = join(dir, "ledger.jsonl");
  const l = new Ledger(p);
  l.put({ kind: "session", id: "s" });
  expect(statSync(p).mode & 0o777).toBe(0o600);
});
