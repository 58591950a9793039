/**
 * An array cell being followed: its first task's files are followed live (its output is the
 * cell's), every other task only once it has left the queue (its end marker, or accounting), so a
 * thousand tasks cost one squeue per tick and one read each at their end. Reports a summary
 * (pending · running · done · failed) as tasks move, and ends when every task has.
 */
import type { Transport } from "../../cluster/transport";
import { errorMessage } from "../../errors";
import type {
  CellOffsets,
  InputAnswer,
  JobHandle,
  JobListener,
  JobOutcome,
  PartEnd,
  PartsSummary,
  SingleOutcome,
  SubmittedJob,
} from "../backend";
import { JobFollower, type FollowOptions } from "../job-follower";
import type { JobStatus } from "../scheduler";
import { cellPaths, partPaths, type CellPaths } from "../session-files";
import type { SlurmScheduler } from "../slurm/slurm-scheduler";
import { parseArraySpec } from "./array-spec";
import { partFailed, readPartEnd, settleScriptOutcome } from "./part-end";
import { sharedAccounting, taskFinal, type Accounting } from "./task-final";
import { TaskTracker } from "./task-tracker";

/** Tasks whose end is read at the same time (over SSH, each is a few round trips). */
const READ_AT_ONCE = 8;
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];
/** Tasks that need accounting within this long of each other share one sacct of the array. */
const ACCOUNTING_SHARED_MS = 2000;

export class ArrayJob implements JobHandle {
  readonly jobId: string;
  readonly done: Promise<JobOutcome>;
  private readonly tasks: number[];
  private readonly first: number;
  private readonly cell: CellPaths;
  private readonly tracker: TaskTracker;
  private readonly follower: JobFollower;
  private readonly ends = new Map<number, PartEnd>();
  private readonly toRead: number[] = [];
  private reading = 0;
  private startedFlag = false;
  private firstError: PartEnd["error"];
  private finish!: (o: JobOutcome) => void;
  private readonly unwatch: () => void;
  private readonly bash: boolean;
  private readonly accounting: Accounting;

  constructor(
    private readonly transport: Transport,
    private readonly scheduler: SlurmScheduler,
    job: SubmittedJob & { array: NonNullable<SubmittedJob["array"]> },
    from: CellOffsets,
    private readonly listener: JobListener,
    followOptions: FollowOptions = {},
  ) {
    this.jobId = job.jobId;
    this.accounting = sharedAccounting((ids) => this.scheduler.accounting(ids), ACCOUNTING_SHARED_MS);
    this.bash = job.mode === "bash";
    this.tasks = parseArraySpec(job.array.spec).tasks;
    this.first = this.tasks[0]!;
    this.cell = cellPaths(job.sessionDir, job.seq);
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.tracker = new TaskTracker(this.jobId, this.tasks, (gone) => this.onGone(gone));
    this.unwatch = scheduler.watcher.watchArray(
      this.jobId,
      (rows) => this.onRows(rows),
      () => this.tracker.allGone(),
    );
    const firstId = `${this.jobId}_${this.first}`;
    const liveness = this.tracker.liveness(this.first, () => this.final(this.first));
    this.follower = new JobFollower(
      transport,
      liveness,
      firstId,
      partPaths(this.cell, "tasks", this.first),
      from,
      this.firstTaskListener(),
      followOptions,
    );
    this.follower.done.then(
      (outcome) =>
        this.ended(this.first, firstId, this.bash ? settleScriptOutcome(outcome) : outcome, this.firstError),
      (err: unknown) => listener.onTrouble(`following task ${this.first}: ${errorMessage(err)}`),
    );
  }

  get started(): boolean {
    return this.startedFlag || this.follower.started;
  }

  /** Tasks run without a notebook to answer them: input() raises in them (no --allow-stdin). */
  async answerInput(_seq: number, _answer: InputAnswer): Promise<void> {}

  /** KeyboardInterrupt in the running tasks, and the pending ones never start; none running: cancel. */
  async interrupt(): Promise<void> {
    if (!this.started) return this.cancel();
    await this.scheduler.cancelPending(this.jobId);
    await this.scheduler.interrupt(this.jobId);
  }

  cancel(): Promise<void> {
    return this.scheduler.cancel(this.jobId);
  }

  /** The first task is the cell's voice: its output, input and trouble; the array speaks for status and end. */
  private firstTaskListener(): JobListener {
    const l = this.listener;
    return {
      onEvent: (ev) => {
        if (ev.type === "error")
          this.firstError = { ename: ev.ename, evalue: ev.evalue, traceback: ev.traceback };
        // Its namespace is the task's own, not the notebook's.
        if (ev.type !== "namespace") l.onEvent(ev);
      },
      onOutput: (name, text) => l.onOutput(name, text),
      onStatus: () => {},
      onOffsets: (o) => l.onOffsets(o),
      onEnding: () => {},
      onTrouble: (m) => l.onTrouble(m),
    };
  }

  private onRows(rows: JobStatus[]): void {
    this.tracker.update(rows);
    const st = this.arrayStatus(rows);
    if (st.state === "RUNNING") this.startedFlag = true;
    this.listener.onStatus(st);
    this.report();
  }

  /** The array as one job for the cell's phase: running while any task runs, else its pending row. */
  private arrayStatus(rows: JobStatus[]): JobStatus {
    const running = rows.find((r) => ["RUNNING", "COMPLETING"].includes(r.state));
    const base = running ?? rows.find((r) => r.state === "PENDING") ?? rows[0]!;
    return { ...base, jobId: this.jobId, state: running ? "RUNNING" : base.state };
  }

  private onGone(tasks: number[]): void {
    for (const t of tasks) if (t !== this.first) this.toRead.push(t);
    this.readMore();
    this.report();
  }

  private readMore(): void {
    while (this.reading < READ_AT_ONCE && this.toRead.length) {
      const task = this.toRead.shift()!;
      this.reading++;
      void this.readEnd(task).finally(() => {
        this.reading--;
        this.readMore();
      });
    }
  }

  /** A task out of the queue: its end, from its files or accounting; retried while the cluster does not answer. */
  private async readEnd(task: number): Promise<void> {
    const id = `${this.jobId}_${task}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const end = await readPartEnd(this.transport, partPaths(this.cell, "tasks", task), task, id, () =>
          this.final(task),
        );
        this.ended(task, id, this.bash ? settleScriptOutcome(end.outcome) : end.outcome, end.error);
        return;
      } catch (err) {
        this.listener.onTrouble(`reading the end of task ${id}: ${errorMessage(err)}`);
        await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
      }
    }
  }

  private final(task: number): ReturnType<typeof taskFinal> {
    return taskFinal(this.accounting, this.jobId, task);
  }

  private ended(task: number, jobId: string, outcome: SingleOutcome, error?: PartEnd["error"]): void {
    if (this.ends.has(task)) return;
    const raised = outcome.kind === "ended" && outcome.status === "error" ? error : undefined;
    this.ends.set(
      task,
      raised ? { index: task, jobId, outcome, error: raised } : { index: task, jobId, outcome },
    );
    this.report();
    if (this.ends.size < this.tasks.length) return;
    this.unwatch();
    this.listener.onEnding();
    this.finish({ kind: "parts", summary: this.summary() });
  }

  private summary(): PartsSummary {
    const failed = [...this.ends.values()].filter(partFailed).sort((a, b) => a.index - b.index);
    const { pending } = this.tracker.counts;
    const ended = this.ends.size;
    return {
      unit: "task",
      jobId: this.jobId,
      total: this.tasks.length,
      pending: Math.min(pending, this.tasks.length - ended),
      running: Math.max(0, this.tasks.length - ended - pending),
      done: ended - failed.length,
      failed,
    };
  }

  private report(): void {
    this.listener.onParts?.(this.summary());
  }
}
