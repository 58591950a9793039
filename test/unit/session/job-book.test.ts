/**
 * The job book over a real Ledger file in a temporary directory: records added and updated
 * survive a reopen, per-notebook listing in submission order, detached jobs in flight, and ended
 * records pruned after 7 days.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger } from "../../../src/ledger/ledger";
import { JobBook, type JobRecord, type NewJob } from "../../../src/session/job-book";

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-jobbook-"));
  path = join(dir, "ledger.jsonl");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 24 * 3600 * 1000;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

function job(id: string, over: Partial<NewJob> = {}): NewJob {
  return {
    id,
    notebookKey: "analysis.ipynb",
    sessionId: "s1",
    seq: Number(id) || 1,
    executionCount: 1,
    detached: false,
    sessionDir: `/work/sessions/s1`,
    ...over,
  };
}

/** A record as it would be in the ledger, with explicit times. */
function record(id: string, over: Partial<JobRecord> = {}): JobRecord {
  return { kind: "job", submitted: iso(DAY), state: "COMPLETED", ...job(id), ...over };
}

test("add() fills in kind, submission time and PENDING, and the record survives a reopen", () => {
  const before = Date.now();
  const book = new JobBook(new Ledger(path));
  const rec = book.add(job("101", { partition: "acpu", timeLimit: "1:00:00" }));
  expect(rec).toMatchObject({ kind: "job", id: "101", state: "PENDING", partition: "acpu" });
  expect(Date.parse(rec.submitted)).toBeGreaterThanOrEqual(before);
  expect(Date.parse(rec.submitted)).toBeLessThanOrEqual(Date.now());
  expect(new JobBook(new Ledger(path)).get("101")).toEqual(rec);
});

test("add() keeps a state given (a job found RUNNING when it is recorded)", () => {
  const book = new JobBook(new Ledger(path));
  expect(book.add(job("102", { state: "RUNNING" })).state).toBe("RUNNING");
});

describe("update()", () => {
  test("merges fields into the record, durably", () => {
    const book = new JobBook(new Ledger(path));
    book.add(job("101"));
    book.update("101", { state: "COMPLETED", ended: iso(0), exitCode: 0, node: "c3cpu-a1-u1-1" });
    book.update("101", { maxRss: "410M" });
    const got = new JobBook(new Ledger(path)).get("101");
    expect(got).toMatchObject({ state: "COMPLETED", exitCode: 0, node: "c3cpu-a1-u1-1", maxRss: "410M" });
    expect(got?.notebookKey).toBe("analysis.ipynb");
  });

  test("cannot change a record's kind or id", () => {
    const ledger = new Ledger(path);
    const book = new JobBook(ledger);
    book.add(job("101"));
    book.update("101", { id: "999", kind: "session", state: "FAILED" } as unknown as Partial<JobRecord>);
    expect(book.get("101")).toMatchObject({ kind: "job", id: "101", state: "FAILED" });
    expect(ledger.list("session")).toEqual([]);
    expect(book.all().map((j) => j.id)).toEqual(["101"]);
  });

  test("of an unknown job does nothing", () => {
    const book = new JobBook(new Ledger(path));
    book.update("404", { state: "FAILED" });
    expect(book.get("404")).toBeUndefined();
    expect(book.all()).toEqual([]);
  });
});

test("forNotebook(): that notebook's jobs only, in submission order", () => {
  const ledger = new Ledger(path);
  ledger.put(record("3", { submitted: iso(1000) }));
  ledger.put(record("1", { submitted: iso(3000) }));
  ledger.put(record("9", { submitted: iso(2000), notebookKey: "other.ipynb" }));
  ledger.put(record("2", { submitted: iso(2000) }));
  ledger.put({ kind: "session", id: "s1" });
  const book = new JobBook(ledger);
  expect(book.forNotebook("analysis.ipynb").map((j) => j.id)).toEqual(["1", "2", "3"]);
  expect(book.forNotebook("other.ipynb").map((j) => j.id)).toEqual(["9"]);
  expect(book.forNotebook("none.ipynb")).toEqual([]);
  expect(book.all().map((j) => j.id)).toEqual(["1", "9", "2", "3"]);
});

test("detachedInFlight(): detached jobs that have not ended", () => {
  const ledger = new Ledger(path);
  ledger.put(record("1", { detached: true, state: "RUNNING" }));
  ledger.put(record("2", { detached: true, state: "COMPLETED", ended: iso(1000) }));
  ledger.put(record("3", { detached: false, state: "RUNNING" }));
  ledger.put(record("4", { detached: true, state: "PENDING", submitted: iso(30 * DAY) }));
  expect(
    new JobBook(ledger)
      .detachedInFlight()
      .map((j) => j.id)
      .sort(),
  ).toEqual(["1", "4"]);
});

describe("pruning when the book opens", () => {
  const cases: [string, Partial<JobRecord>, boolean][] = [
    ["ended 8 days ago: removed", { ended: iso(8 * DAY) }, false],
    ["ended 6 days ago: kept", { ended: iso(6 * DAY) }, true],
    ["ended a minute ago: kept", { ended: iso(60_000) }, true],
    [
      "submitted 30 days ago, not ended (still in flight): kept",
      { submitted: iso(30 * DAY), state: "PENDING" },
      true,
    ],
    [
      "detached, submitted 30 days ago, not ended: kept",
      { submitted: iso(30 * DAY), detached: true, state: "RUNNING" },
      true,
    ],
  ];
  test.each(cases)("%s", (_n, fields, kept) => {
    const ledger = new Ledger(path);
    ledger.put(record("1", fields));
    ledger.put(record("2", { ended: iso(0) }));
    new JobBook(ledger);
    // Pruned for good: a ledger read from the file again agrees.
    const again = new JobBook(new Ledger(path));
    expect(again.get("1") !== undefined).toBe(kept);
    expect(again.get("2")).toBeDefined();
  });
});
