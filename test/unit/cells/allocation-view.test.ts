/**
 * Held allocations in the jobs feed: a row of their own beside the cells, with the time left and
 * when it turns into a warning; updates and notices as the allocation moves; `%squeue` and the
 * metrics still count cells only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocationIdOf, allocationView } from "../../../src/cells/allocation-view";
import { CellBook } from "../../../src/cells/cell-book";
import type { AllocationSource } from "../../../src/cells/job-feed";
import type { AllocationRecord } from "../../../src/jobs/allocation/allocations";
import type { JobStatus } from "../../../src/jobs/scheduler";
import { Ledger } from "../../../src/ledger/ledger";
import type { JobView, JobsFeedMessage } from "../../../src/protocol/jobs-feed";

const T0 = Date.parse("2026-12-01T10:00:00Z");

const record = (over: Partial<AllocationRecord> = {}): AllocationRecord => ({
  kind: "allocation",
  id: "s1/1",
  sessionId: "s1",
  notebookKey: "/home/maya/train.ipynb",
  notebook: "train.ipynb",
  n: 1,
  jobId: "4521",
  sessionDir: "/scratch/maya/ak/s1",
  workDir: "/scratch/maya/nb",
  sbatch: [
    ["--partition", "aa100"],
    ["--gres", "gpu:1"],
    ["--time", "2:00:00"],
    ["--account", "ucb-general"],
  ],
  submitted: new Date(T0).toISOString(),
  phase: "queued",
  ...over,
});

const running = (over: Partial<AllocationRecord> = {}) =>
  record({
    phase: "ready",
    partition: "aa100",
    node: "c3gpu-a1-u1-1",
    cpus: 4,
    memory: "16G",
    gpus: 1,
    timeLimit: "2:00:00",
    endsAt: new Date(T0 + 60_000 + 7_200_000).toISOString(),
    ...over,
  });

describe("allocationView", () => {
  test("queued: waiting since it was submitted, its pending reason in plain words, what made it", () => {
    const status: JobStatus = {
      jobId: "4521",
      state: "PENDING",
      reason: "Resources",
      startTime: "2026-12-01T11:00:00",
    };
    const v = allocationView(record(), 600, status, "work/train.ipynb");
    expect(v).toMatchObject({
      id: "allocation/s1/1",
      kind: "allocation",
      jobId: "4521",
      notebook: "train.ipynb",
      notebookPath: "work/train.ipynb",
      kernelId: "s1",
      firstLine: "%slurm allocate --partition aa100 --gres gpu:1 --time 2:00:00",
      phase: "queued",
      state: "PENDING",
      reason: "Resources",
      queuedAt: T0,
      estimatedStart: "2026-12-01T11:00:00",
    });
    expect(v.reasonText).toBe("waiting for the nodes it needs to free up");
    expect(v.endsAt).toBeUndefined();
    expect(allocationIdOf(v.id)).toBe("s1/1");
    expect(allocationIdOf("s1/3")).toBeUndefined();
  });

  test("running: its node and resources, when it started, when it ends and when that becomes a warning", () => {
    const v = allocationView(running(), 600);
    expect(v).toMatchObject({
      phase: "running",
      state: "RUNNING",
      node: "c3gpu-a1-u1-1",
      partition: "aa100",
      resources: "4 CPUs, 16G, 1 GPU",
      timeLimitSeconds: 7200,
      startedAt: T0 + 60_000,
      endsAt: T0 + 60_000 + 7_200_000,
      warnAt: T0 + 60_000 + 7_200_000 - 600_000,
    });
  });

  test("released: completed, with how it ended; a time limit is no completion", () => {
    const ended = new Date(T0 + 60_000 + 1_800_000).toISOString();
    const released = allocationView(
      running({ phase: "ended", ended, endWhy: "released", endState: "COMPLETED" }),
      600,
    );
    expect(released).toMatchObject({
      phase: "ended",
      state: "COMPLETED",
      end: { outcome: "completed", message: "released", seconds: 1800 },
    });
    expect(released.endsAt).toBeUndefined();
    const timedOut = allocationView(
      running({ phase: "ended", ended, endWhy: "it reached its time limit", endState: "TIMEOUT" }),
      600,
    );
    expect(timedOut).toMatchObject({
      state: "TIMEOUT",
      end: { outcome: "died", message: "it reached its time limit" },
    });
  });
});

describe("in the feed", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "ak-feed-alloc-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function source(recs: AllocationRecord[]) {
    const listeners = new Set<(id: string) => void>();
    const src: AllocationSource & { set(rec: AllocationRecord): void } = {
      list: () => recs,
      record: (id) => recs.find((r) => r.id === id),
      statusOf: () => undefined,
      onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
      warnAheadSeconds: 600,
      set(rec) {
        const i = recs.findIndex((r) => r.id === rec.id);
        if (i < 0) recs.push(rec);
        else recs[i] = rec;
        for (const l of listeners) l(rec.id);
      },
    };
    return src;
  }

  test("a row beside the cells; updates and notices as it starts and ends; cell-only lists leave it out", () => {
    const book = new CellBook(new Ledger(join(dir, "ledger.jsonl")));
    const src = source([]);
    book.feed.addAllocations(src);
    const messages: JobsFeedMessage[] = [];
    book.feed.subscribe((m) => messages.push(m));
    src.set(record()); // %slurm allocate: the holder is queued
    expect(book.feed.views().map((v) => [v.id, v.phase])).toEqual([["allocation/s1/1", "queued"]]);
    expect(book.feed.cellViews()).toEqual([]);

    src.set(running());
    src.set(running()); // the same again: nothing told
    const updates = messages.flatMap((m): JobView[] => (m.type === "update" ? m.jobs : []));
    expect(updates.map((v) => v.phase)).toEqual(["queued", "running"]);
    const started = messages.find((m) => m.type === "notice");
    expect(started).toMatchObject({
      notice: { kind: "started", job: { kind: "allocation" }, waitedSeconds: 60 },
    });

    src.set(
      running({
        phase: "ended",
        ended: new Date().toISOString(),
        endWhy: "it reached its time limit",
        endState: "TIMEOUT",
      }),
    );
    expect(messages.at(-1)).toMatchObject({
      type: "notice",
      notice: { kind: "ended", job: { state: "TIMEOUT" } },
    });
  });

  test("a notebook path a frontend tells reaches its allocation's row too", () => {
    const book = new CellBook(new Ledger(join(dir, "ledger.jsonl")));
    book.feed.addAllocations(source([running()]));
    book.feed.setNotebookPath("s1", "work/train.ipynb");
    expect(book.feed.views()[0]).toMatchObject({ kind: "allocation", notebookPath: "work/train.ipynb" });
  });
});
