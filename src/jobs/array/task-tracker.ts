/**
 * Where each task of a job array is, from the rows of the one batched squeue: pending together
 * (`4521_[8-99%10]`), in a row of its own (running, or requeued), or gone from the queue. Tasks
 * are reported gone once each; a pending list squeue cut short (see array-spec.ts) keeps every
 * task after the cut pending, never gone.
 */
import type { JobLiveness } from "../job-follower";
import type { FinalJobStatus, JobStatus, StatusListener } from "../scheduler";
import { parseArrayRowId } from "./array-spec";

const RUNNING = new Set(["RUNNING", "COMPLETING", "SUSPENDED"]);

export interface TaskCounts {
  pending: number;
  running: number;
}

interface TaskWatch {
  onStatus: StatusListener;
  onGone: () => void;
}

export class TaskTracker {
  /** Tasks still in the queue (or not yet seen out of it), with their row's status. */
  private readonly inQueue = new Map<number, JobStatus>();
  private readonly remaining: Set<number>;
  private readonly watches = new Map<number, Set<TaskWatch>>();
  private countsNow: TaskCounts = { pending: 0, running: 0 };
  private rowsNow: JobStatus[] = [];

  constructor(
    readonly arrayId: string,
    tasks: readonly number[],
    /** Tasks that have left the queue since the last rows (each reported once). */
    private readonly onGone: (tasks: number[]) => void,
  ) {
    this.remaining = new Set(tasks);
  }

  get counts(): TaskCounts {
    return this.countsNow;
  }

  /** The last squeue rows of the array. */
  get rows(): readonly JobStatus[] {
    return this.rowsNow;
  }

  /** A task's last status while it is in the queue (its id as users write it: `4521_7`). */
  status(task: number): JobStatus | undefined {
    const row = this.inQueue.get(task);
    return row && { ...row, jobId: `${this.arrayId}_${task}` };
  }

  /** One squeue tick's rows of this array. */
  update(rows: readonly JobStatus[]): void {
    this.rowsNow = [...rows];
    this.inQueue.clear();
    let cutAfter: number | undefined;
    let whole: JobStatus | undefined;
    for (const row of rows) {
      const id = parseArrayRowId(row.jobId);
      if (!id || id.arrayId !== this.arrayId) continue;
      if (!id.tasks) whole = row;
      for (const t of id.tasks ?? []) if (this.remaining.has(t)) this.inQueue.set(t, row);
      if (id.cutAfter !== undefined) {
        cutAfter = Math.min(cutAfter ?? Infinity, id.cutAfter);
        whole ??= row;
      }
    }
    // A row naming the array alone, or a cut list: the tasks it may hold are still in the queue.
    if (whole)
      for (const t of this.remaining)
        if (!this.inQueue.has(t) && (cutAfter === undefined || t > cutAfter)) this.inQueue.set(t, whole);
    let running = 0;
    for (const st of this.inQueue.values()) if (RUNNING.has(st.state)) running++;
    this.countsNow = { pending: this.inQueue.size - running, running };
    this.settle([...this.remaining].filter((t) => !this.inQueue.has(t)));
    for (const [task, set] of this.watches) {
      const st = this.status(task);
      if (st) for (const w of [...set]) w.onStatus(st);
    }
  }

  /** The array has left the queue: every task not reported yet is gone. */
  allGone(): void {
    this.inQueue.clear();
    this.rowsNow = [];
    this.countsNow = { pending: 0, running: 0 };
    this.settle([...this.remaining]);
  }

  private settle(gone: number[]): void {
    if (!gone.length) return;
    for (const t of gone) this.remaining.delete(t);
    this.onGone(gone);
    for (const t of gone) {
      const set = this.watches.get(t);
      this.watches.delete(t);
      for (const w of [...(set ?? [])]) w.onGone();
    }
  }

  /** One task's liveness, for a JobFollower of its files. */
  liveness(task: number, final: (jobId: string) => Promise<FinalJobStatus>): JobLiveness {
    return {
      watch: (_jobId, onStatus, onGone) => {
        const w: TaskWatch = { onStatus, onGone };
        if (!this.remaining.has(task)) {
          queueMicrotask(onGone);
          return () => {};
        }
        let set = this.watches.get(task);
        if (!set) this.watches.set(task, (set = new Set()));
        set.add(w);
        const st = this.status(task);
        if (st) onStatus(st);
        return () => set.delete(w);
      },
      final,
    };
  }
}
