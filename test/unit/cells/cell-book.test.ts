/**
 * The cell book over a real Ledger file in a temporary directory: one record per cell, written as
 * the cell moves (submitted, output delivered, ended) and surviving a reopen; per-notebook listing
 * in submission order; cells in flight; ended records pruned after 7 days; ledgers of the earlier
 * layout (a job record plus a cell record) merged on opening.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CellBook, cellInfoOf, type CellRecord } from "../../../src/cells/cell-book";
import { Cell } from "../../../src/cells/cell";
import { Ledger } from "../../../src/ledger/ledger";
import { FakeBackend, PARENT, cellInfo, cellSpec } from "./fake-backend";

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-cellbook-"));
  path = join(dir, "ledger.jsonl");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 24 * 3600 * 1000;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

/** A record as it would be in the ledger. */
function record(seq: number, over: Partial<CellRecord> = {}): CellRecord {
  return {
    kind: "cell",
    id: `s1/${seq}`,
    sessionId: "s1",
    notebookKey: "analysis.ipynb",
    seq,
    executionCount: seq,
    detached: false,
    jobId: String(100 + seq),
    sessionDir: "/work/s1",
    submitted: iso(DAY),
    requested: {},
    origin: { parent: PARENT, clientId: "c1", allowStdin: true },
    state: "COMPLETED",
    ended: iso(DAY - 1000),
    ...over,
  };
}

async function trackedCell(book: CellBook, over: Parameters<typeof cellInfo>[0] = {}) {
  const cell = new Cell(cellInfo(over), () => {});
  book.track(cell);
  const backend = new FakeBackend();
  await cell.submit(backend, cellSpec());
  return { cell, job: backend.job };
}

describe("a tracked cell's record", () => {
  test("is written when the cell is queued, with what it is and where its files are", async () => {
    const before = Date.now();
    const book = new CellBook(new Ledger(path));
    const { cell } = await trackedCell(book, { executionCount: 4, seq: 3 });
    const rec = new CellBook(new Ledger(path)).byJob("28")!;
    expect(rec).toMatchObject({
      kind: "cell",
      id: "s1/3",
      sessionId: "s1",
      notebookKey: "/home/maya/analysis.ipynb",
      seq: 3,
      executionCount: 4,
      detached: false,
      jobId: "28",
      sessionDir: "/work/s1",
      partition: "acpu",
      requested: { time: "1:00:00", mem: "8G" },
      origin: { parent: PARENT, clientId: "c1", allowStdin: true, displayId: "alpine-kernel-status-t" },
      state: "PENDING",
    });
    expect(rec.ended).toBeUndefined();
    expect(Date.parse(rec.submitted)).toBeGreaterThanOrEqual(before);
    expect(book.liveCell("s1/3")).toBe(cell);
    expect(book.inFlight().map((r) => r.id)).toEqual(["s1/3"]);
    expect(cellInfoOf(rec)).toEqual(cell.info);
  });

  test("keeps the offsets delivered so far (attached cells only: a detached one is re-read whole)", async () => {
    const book = new CellBook(new Ledger(path));
    const attached = await trackedCell(book);
    attached.job.listener.onOffsets({ events: 300, stdout: 12, stderr: 0 });
    expect(new CellBook(new Ledger(path)).byJob("28")?.offsets).toEqual({
      events: 300,
      stdout: 12,
      stderr: 0,
    });
    const detached = await trackedCell(book, { seq: 2, detached: true });
    detached.job.listener.onOffsets({ events: 300, stdout: 12, stderr: 0 });
    expect(new CellBook(new Ledger(path)).byJob("28")).toBeDefined();
    expect(new CellBook(new Ledger(path)).all().find((r) => r.seq === 2)?.offsets).toBeUndefined();
  });

  test("is completed when the cell ends: state, time, MaxRSS, node; offsets dropped", async () => {
    const book = new CellBook(new Ledger(path));
    const { cell, job } = await trackedCell(book);
    job.start("c3cpu-a1-u1-1", Date.now() - 75_000);
    job.listener.onOffsets({ events: 300, stdout: 0, stderr: 0 });
    job.end({ kind: "ended", status: "ok", maxRss: "410M" });
    await cell.finished;
    const rec = new CellBook(new Ledger(path)).byJob("28")!;
    expect(rec).toMatchObject({
      state: "COMPLETED",
      maxRss: "410M",
      node: "c3cpu-a1-u1-1",
      elapsed: "0:01:15",
    });
    expect(Date.parse(rec.ended!)).toBeLessThanOrEqual(Date.now());
    expect(rec.offsets).toBeUndefined();
    expect(book.liveCell(cell.id)).toBeUndefined();
    expect(book.inFlight()).toEqual([]);
  });

  test("a cell that never got a job leaves no record", async () => {
    const book = new CellBook(new Ledger(path));
    const cell = new Cell(cellInfo(), () => {});
    book.track(cell);
    const backend = new FakeBackend();
    backend.refuse = new Error("sbatch: Invalid account");
    await expect(cell.submit(backend, cellSpec())).rejects.toThrow("Invalid account");
    expect(book.all()).toEqual([]);
    expect(book.liveCell(cell.id)).toBeUndefined();
  });
});

test("detachedInFlight(): detached cells this server follows", async () => {
  const book = new CellBook(new Ledger(path));
  await trackedCell(book, { seq: 1, detached: true });
  const other = await trackedCell(book, { seq: 2, detached: true });
  await trackedCell(book, { seq: 3 });
  expect(book.detachedInFlight()).toBe(2);
  other.job.end({ kind: "ended", status: "ok" });
  await other.cell.finished;
  expect(book.detachedInFlight()).toBe(1);
});

test("forNotebook(): that notebook's cells only, in submission order; byJob() finds any", () => {
  const ledger = new Ledger(path);
  ledger.put(record(3, { submitted: iso(1000) }));
  ledger.put(record(1, { submitted: iso(3000) }));
  ledger.put(record(9, { submitted: iso(2000), notebookKey: "other.ipynb" }));
  ledger.put(record(2, { submitted: iso(2000) }));
  ledger.put({ kind: "session", id: "s1" });
  const book = new CellBook(ledger);
  expect(book.forNotebook("analysis.ipynb").map((r) => r.seq)).toEqual([1, 2, 3]);
  expect(book.forNotebook("other.ipynb").map((r) => r.seq)).toEqual([9]);
  expect(book.forNotebook("none.ipynb")).toEqual([]);
  expect(book.all().map((r) => r.seq)).toEqual([1, 9, 2, 3]);
  expect(book.byJob("109")?.notebookKey).toBe("other.ipynb");
  expect(book.byJob("404")).toBeUndefined();
});

describe("pruning when the book opens", () => {
  const cases: [string, Partial<CellRecord>, boolean][] = [
    ["ended 8 days ago: removed", { ended: iso(8 * DAY) }, false],
    ["ended 6 days ago: kept", { ended: iso(6 * DAY) }, true],
    ["ended a minute ago: kept", { ended: iso(60_000) }, true],
    [
      "submitted 30 days ago, not ended (still in flight): kept",
      { submitted: iso(30 * DAY), ended: undefined, state: "PENDING" },
      true,
    ],
    [
      "detached, submitted 30 days ago, not ended: kept",
      { submitted: iso(30 * DAY), detached: true, ended: undefined, state: "PENDING" },
      true,
    ],
  ];
  test.each(cases)("%s", (_n, fields, kept) => {
    const ledger = new Ledger(path);
    ledger.put(record(1, fields));
    ledger.put(record(2, { ended: iso(0) }));
    new CellBook(ledger);
    // Pruned for good: a ledger read from the file again agrees.
    const again = new CellBook(new Ledger(path));
    expect(again.byJob("101") !== undefined).toBe(kept);
    expect(again.byJob("102")).toBeDefined();
  });
});

test("a ledger of the earlier layout is merged: one record per cell, in-flight offsets kept", () => {
  const ledger = new Ledger(path);
  const job = {
    kind: "job",
    id: "4521",
    notebookKey: "analysis.ipynb",
    sessionId: "s1",
    seq: 7,
    executionCount: 5,
    detached: false,
    sessionDir: "/work/s1",
    submitted: iso(60_000),
    partition: "acpu",
    timeLimit: "1:00:00",
    state: "PENDING",
    parent: PARENT,
    displayId: "alpine-kernel-status-x",
  };
  ledger.put(job);
  ledger.put({
    kind: "cell",
    id: "s1/7",
    sessionId: "s1",
    seq: 7,
    jobId: "4521",
    executionCount: 5,
    parent: PARENT,
    clientId: "c9",
    allowStdin: true,
    requested: { time: "1:00:00", partition: "acpu" },
    offsets: { events: 40, stdout: 0, stderr: 3 },
  });
  ledger.put({
    ...job,
    id: "4400",
    seq: 2,
    detached: true,
    state: "COMPLETED",
    ended: iso(1000),
    maxRss: "12M",
  });
  ledger.put({ kind: "cell", id: "s9/1", sessionId: "s9", seq: 1, jobId: "", offsets: {} }); // never submitted
  new CellBook(ledger);
  const book = new CellBook(new Ledger(path));
  expect(new Ledger(path).list("job")).toEqual([]);
  expect(book.all().map((r) => r.id)).toEqual(["s1/7", "s1/2"]);
  expect(book.byJob("4521")).toMatchObject({
    id: "s1/7",
    detached: false,
    requested: { time: "1:00:00", partition: "acpu" },
    origin: { parent: PARENT, clientId: "c9", allowStdin: true, displayId: "alpine-kernel-status-x" },
    offsets: { events: 40, stdout: 0, stderr: 3 },
    state: "PENDING",
  });
  expect(book.inFlight().map((r) => r.jobId)).toEqual(["4521"]);
  expect(book.byJob("4400")).toMatchObject({
    detached: true,
    state: "COMPLETED",
    maxRss: "12M",
    origin: { clientId: "" },
  });
});
