/**
 * The jobs feed over a real cell book (Ledger file in a temporary directory) and the fake backend:
 * a snapshot then only what changed, views for every phase (queued with its reason in plain words,
 * running, ended by the cell's own exception or by Slurm), notices when a cell starts after
 * waiting and when it ends, paths told by frontends, and %squeue's words for the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CellBook } from "../../../src/cells/cell-book";
import { Cell } from "../../../src/cells/cell";
import { firstCodeLine } from "../../../src/cells/job-view";
import { Ledger } from "../../../src/ledger/ledger";
import type { JobStatus } from "../../../src/jobs/scheduler";
import {
  cellLabel,
  clockText,
  stateWords,
  type JobView,
  type JobsFeedMessage,
} from "../../../src/protocol/jobs-feed";
import { FakeBackend, cellInfo, cellSpec } from "./fake-backend";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "ak-feed-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function setup(over: Parameters<typeof cellInfo>[0] = {}, answeredBySession = false) {
  const book = new CellBook(new Ledger(join(dir, "ledger.jsonl")));
  const messages: JobsFeedMessage[] = [];
  book.feed.subscribe((m) => messages.push(m));
  const cell = new Cell(cellInfo({ firstLine: "df = load()", cellId: "c-7", run: 2, ...over }), () => {});
  book.track(cell, { answeredBySession });
  const backend = new FakeBackend();
  await cell.submit(backend, cellSpec());
  return { book, cell, job: backend.job, messages };
}

const updates = (ms: JobsFeedMessage[]): JobView[] => ms.flatMap((m) => (m.type === "update" ? m.jobs : []));
const notices = (ms: JobsFeedMessage[]) => ms.flatMap((m) => (m.type === "notice" ? [m.notice] : []));
const pending = (reason: string, extra: Partial<JobStatus> = {}): JobStatus => ({
  jobId: "28",
  state: "PENDING",
  reason,
  partition: "acpu",
  timeLimit: "1:00:00",
  cpus: 4,
  memory: "8G",
  billing: 4,
  ...extra,
});

test("a subscriber gets a snapshot at once, then the queued cell with its reason in plain words", async () => {
  const { job, messages } = await setup();
  expect(messages[0]).toMatchObject({ type: "snapshot", jobs: [] });
  job.listener.onStatus(pending("Priority", { startTime: "2026-11-25T14:30:00" }));
  const v = updates(messages).at(-1)!;
  expect(v).toMatchObject({
    id: "s1/1",
    jobId: "28",
    notebook: "analysis.ipynb",
    notebookKey: "/home/maya/analysis.ipynb",
    run: 2,
    cellId: "c-7",
    firstLine: "df = load()",
    phase: "queued",
    state: "PENDING",
    reason: "Priority",
    reasonText: "jobs with a higher priority go first",
    partition: "acpu",
    resources: "4 CPUs, 8G",
    timeLimitSeconds: 3600,
    estimatedStart: "2026-11-25T14:30:00",
    billing: 4,
  });
  expect(typeof v.queuedAt).toBe("number");
});

test("nothing is told twice: the same status from the next squeue is no update", async () => {
  const { job, messages } = await setup();
  job.listener.onStatus(pending("Resources"));
  const n = updates(messages).length;
  job.listener.onStatus(pending("Resources"));
  job.listener.onStatus(pending("Resources"));
  expect(updates(messages)).toHaveLength(n);
  job.listener.onStatus(pending("Priority"));
  expect(updates(messages)).toHaveLength(n + 1);
});

test("starting after waiting is a notice, with how long it waited; the running view has its node", async () => {
  const { job, messages } = await setup();
  job.listener.onStatus(pending("Resources"));
  job.start("c3cpu-a1-u1-1");
  const [started] = notices(messages);
  expect(started).toMatchObject({ kind: "started", job: { phase: "running", node: "c3cpu-a1-u1-1" } });
  expect(started?.kind === "started" ? started.waitedSeconds : -1).toBeGreaterThanOrEqual(0);
  expect(updates(messages).at(-1)).toMatchObject({ phase: "running", state: "RUNNING" });
});

test("a cell that raised: FAILED, the cell's own error, exit 1:0 — and an ended notice", async () => {
  const { cell, job, messages } = await setup();
  job.start();
  job.emit({ type: "error", ename: "ValueError", evalue: "bad", traceback: [] });
  job.end({ kind: "ended", status: "error", maxRss: "410M" });
  await cell.finished;
  const v = updates(messages).at(-1)!;
  expect(v).toMatchObject({
    phase: "ended",
    state: "FAILED",
    end: { outcome: "raised", errorName: "ValueError", message: "bad", exitCode: "1:0", maxRss: "410M" },
  });
  expect(stateWords(v)).toBe("FAILED (cell raised ValueError)");
  expect(notices(messages).at(-1)).toMatchObject({ kind: "ended", job: { id: "s1/1" } });
});

test("a cell whose end is recorded once its reply has left (the session's cells) ends in the feed too", async () => {
  const { book, cell, job, messages } = await setup({}, true);
  job.start();
  job.end({ kind: "ended", status: "ok", maxRss: "35M" });
  await cell.finished;
  expect(book.record("s1/1")?.ended).toBeUndefined(); // the reply has not left yet
  book.answered(cell); // the ledger changes the record in place: the feed must see it all the same
  expect(updates(messages).at(-1)).toMatchObject({ phase: "ended", state: "COMPLETED" });
  expect(notices(messages).at(-1)).toMatchObject({ kind: "ended", job: { id: "s1/1" } });
});

test("a job Slurm ended: its state and the error name the notebook showed, its exit code", async () => {
  const { cell, job, messages } = await setup();
  job.listener.onStatus(pending("None"));
  job.die({ state: "TIMEOUT", exitCode: 0, signal: 15, elapsed: "1:00:00" });
  await cell.finished;
  const v = updates(messages).at(-1)!;
  expect(v).toMatchObject({
    state: "TIMEOUT",
    end: { outcome: "died", errorName: "SlurmTimeout", exitCode: "0:15" },
  });
  expect(stateWords(v)).toBe("TIMEOUT (SlurmTimeout)");
});

test("a completed cell's view comes from its record, also in a new cell book (after a restart)", async () => {
  const { cell, job } = await setup();
  job.listener.onStatus(pending("None"));
  job.start("c3cpu-a1-u1-1", Date.now() - 90_000);
  job.end({ kind: "ended", status: "ok", maxRss: "35M" });
  await cell.finished;
  const again = new CellBook(new Ledger(join(dir, "ledger.jsonl")));
  const [v] = again.feed.views();
  expect(v).toMatchObject({
    phase: "ended",
    state: "COMPLETED",
    firstLine: "df = load()",
    billing: 4,
    end: { outcome: "completed", exitCode: "0:0", maxRss: "35M" },
  });
  // 4 billing units for 90 s: 0.1 SU.
  expect(v!.serviceUnits).toBeCloseTo(0.1, 2);
  expect(v!.end!.seconds).toBeCloseTo(90, 0);
});

test("a path a frontend tells is in its kernel's views", async () => {
  const { book, job, messages } = await setup();
  job.listener.onStatus(pending("None"));
  book.feed.setNotebookPath("s1", "project/analysis.ipynb");
  expect(updates(messages).at(-1)?.notebookPath).toBe("project/analysis.ipynb");
  expect(book.feed.views()[0]?.notebookPath).toBe("project/analysis.ipynb");
});

test("unsubscribed listeners hear nothing more; a throwing one does not stop the others", async () => {
  const { book, job, messages } = await setup();
  const seen: JobsFeedMessage[] = [];
  const off = book.feed.subscribe(() => {
    throw new Error("closed socket");
  });
  book.feed.subscribe((m) => seen.push(m));
  job.listener.onStatus(pending("Resources"));
  expect(seen.some((m) => m.type === "update")).toBe(true);
  off();
  const n = messages.length;
  job.listener.onStatus(pending("Priority"));
  expect(messages.length).toBeGreaterThan(n);
  expect(book.feed.subscribers).toBe(2);
});

describe("spellings every view shares", () => {
  test.each<[number, string]>([
    [0.4, "0.4 s"],
    [12, "12 s"],
    [65, "1:05"],
    [3723, "1:02:03"],
    [90000, "1-01:00:00"],
    [Number.NaN, "0.0 s"],
  ])("clockText(%p) = %s", (s, text) => expect(clockText(s)).toBe(text));

  test("cell labels say the kernel run only when asked; silent cells their seq", () => {
    expect(cellLabel({ executionCount: 3, seq: 5, run: 2 }, false)).toBe("3");
    expect(cellLabel({ executionCount: 3, seq: 5, run: 2 }, true)).toBe("3 (run 2)");
    expect(cellLabel({ executionCount: 0, seq: 5 }, false)).toBe("s5");
  });

  test("the first line of code: not blank, trimmed, at most 80 characters", () => {
    expect(firstCodeLine("\n\n   import numpy as np\nx = 1")).toBe("import numpy as np");
    expect(firstCodeLine("x".repeat(100))).toHaveLength(80);
    expect(firstCodeLine("")).toBe("");
  });
});
