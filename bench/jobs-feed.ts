/**
 * What the jobs feed costs on each squeue pass, with CELLS cells in flight in one cell book (a real
 * Ledger file): the pass delivers each cell its status; the book's change feed builds each view,
 * compares it with the last one told and tells subscribers (here: what the comm does, JSON of the
 * message) only what changed. Baseline: parsing that pass's squeue output, work every pass did
 * before the feed existed. Target: an unchanged pass (the common case while cells wait: parse,
 * delivery to every cell, the feed finding nothing new) costs at most twice the parse alone (≤ 2×).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CellBook } from "../src/cells/cell-book";
import { Cell } from "../src/cells/cell";
import type { ExecutionBackend, JobHandle, JobListener, JobOutcome, SubmittedJob } from "../src/jobs/backend";
import type { JobStatus } from "../src/jobs/scheduler";
import { parseSqueue } from "../src/jobs/slurm/parse-squeue";
import { Ledger } from "../src/ledger/ledger";
import { report, type Row } from "./lib/harness";

const CELLS = Number(process.env.BENCH_CELLS ?? 200);
const N = Number(process.env.BENCH_N ?? 30);

/** Submits at once and hands the bench each job's listener, to play squeue's part. */
class BenchBackend implements ExecutionBackend {
  ignoredOptions(): [] {
    return [];
  }
  readonly listeners: JobListener[] = [];
  private next = 1000;
  async submit(): Promise<SubmittedJob> {
    return { jobId: String(this.next++), sessionDir: "/work/s1", seq: this.next };
  }
  follow(job: SubmittedJob, _from: unknown, listener: JobListener): JobHandle {
    this.listeners.push(listener);
    return {
      jobId: job.jobId,
      started: false,
      done: new Promise<JobOutcome>(() => {}),
      answerInput: async () => {},
      interrupt: async () => {},
      cancel: async () => {},
    };
  }
}

function squeueRow(id: number, reason: string): string {
  return `${id}|PENDING|${reason}|acpu|(null)|2026-11-25T14:30:00|0:00|1:00:00|4|cpu=4,mem=8G,node=1,billing=4|cell-${id}|`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ak-bench-feed-"));
  const book = new CellBook(new Ledger(join(dir, "ledger.jsonl")));
  let told = 0;
  book.feed.subscribe((m) => (told += JSON.stringify(m).length));
  const backend = new BenchBackend();
  for (let i = 0; i < CELLS; i++) {
    const cell = new Cell(
      {
        sessionId: "s1",
        notebookKey: "/home/maya/a.ipynb",
        seq: i + 1,
        executionCount: i + 1,
        detached: true,
        partition: "acpu",
        requested: { time: "1:00:00" },
        origin: { parent: {}, clientId: "c", allowStdin: false } as never,
        firstLine: `x_${i} = compute(${i})`,
      },
      () => {},
    );
    book.track(cell);
    await cell.submit(backend, {} as never);
  }
  const output = (reason: string) =>
    backend.listeners.map((_l, i) => squeueRow(1000 + i, reason)).join("\n") + "\n";
  const pass = (text: string) => {
    const statuses: JobStatus[] = parseSqueue(text);
    statuses.forEach((s, i) => backend.listeners[i]!.onStatus(s));
  };
  const time = (fn: () => void) => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const rows: Row[] = [
    { name: `baseline: parse one squeue pass of ${CELLS} jobs`, samples: [] },
    { name: "pass with nothing new (parse + deliver + feed: no update told)", samples: [] },
    { name: `pass where every reason changed (${CELLS} views told)`, samples: [] },
  ];
  const reasons = ["Priority", "Resources"];
  pass(output("Priority")); // warm up: every view told once
  for (let i = 0; i < N; i++) {
    const same = output(reasons[i % 2]!);
    rows[0]!.samples.push(time(() => parseSqueue(same)));
    pass(same);
    rows[1]!.samples.push(time(() => pass(same)));
    const other = output(reasons[(i + 1) % 2]!);
    told = 0;
    rows[2]!.samples.push(time(() => pass(other)));
    if (told === 0) throw new Error("the changed pass told nothing: the bench is broken");
  }
  report(
    `Jobs feed cost per squeue pass, ${CELLS} cells in flight (bench/jobs-feed.ts, BENCH_N=${N})`,
    rows[0]!,
    rows.slice(1),
  );
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

void main();
