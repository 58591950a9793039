/**
 * ONE batched squeue for every cell job of every kernel, with backoff: about every second right
 * after something changed, stretching to poll_max_seconds while nothing does. A job that leaves
 * squeue is "gone" (its end is then read from its files, or sacct). Reason and start-estimate
 * changes are reported but do not reset the backoff: Slurm flips reasons between passes.
 */
import type { Transport } from "../../cluster/transport";
import { CommandError } from "../../cluster/transport";
import { errorMessage } from "../../errors";
import { SQUEUE_ARGS, parseSqueue } from "./parse-squeue";
import type { JobState, JobStatus, StatusListener } from "../scheduler";

interface Watch {
  onStatus: StatusListener;
  onGone: () => void;
}

/** Every squeue row of one job array (`4521_7`, `4521_[8-99%10]`), each tick. */
interface ArrayWatch {
  onRows: (rows: JobStatus[]) => void;
  onGone: () => void;
}

export interface WatcherOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Called when squeue fails (slurmctld slow or down) and when it answers again. */
  onTrouble?: (message: string | undefined) => void;
}

const BACKOFF = 1.5;

export class SlurmWatcher {
  private readonly watches = new Map<string, Set<Watch>>();
  private readonly arrays = new Map<string, Set<ArrayWatch>>();
  /** Each watched array's rows at the last tick, as "id state" lines: a change resets the backoff. */
  private readonly arrayShape = new Map<string, string>();
  private readonly lastState = new Map<string, JobState>();
  private readonly latest = new Map<string, JobStatus>();
  private interval: number;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private running = false;
  private closed = false;
  private failing = false;

  constructor(
    private readonly transport: Transport,
    private readonly opts: WatcherOptions,
  ) {
    this.interval = opts.minIntervalMs;
  }

  /** The wait before the next squeue now (backing off while nothing changes); 0 when nothing is watched. */
  get pollIntervalMs(): number {
    return this.watches.size ? this.interval : 0;
  }

  /** The last status seen for a job still in the queue. */
  status(jobId: string): JobStatus | undefined {
    return this.latest.get(jobId);
  }

  watch(jobId: string, onStatus: StatusListener, onGone: () => void): () => void {
    const w: Watch = { onStatus, onGone };
    let set = this.watches.get(jobId);
    if (!set) this.watches.set(jobId, (set = new Set()));
    set.add(w);
    const last = this.latest.get(jobId);
    if (last) onStatus(last);
    this.hurry();
    return () => {
      set.delete(w);
      // After the job was reported gone, `set` is no longer the job's: a newer watch may be.
      if (set.size === 0 && this.watches.get(jobId) === set) this.forget(jobId);
    };
  }

  /**
   * Every row of a job array, in the same one squeue as every other job: `squeue --jobs 4521`
   * lists all of its tasks (running ones one by one, pending ones together). `onGone` is called once
   * when no task of it is left in the queue.
   */
  watchArray(arrayId: string, onRows: (rows: JobStatus[]) => void, onGone: () => void): () => void {
    const w: ArrayWatch = { onRows, onGone };
    let set = this.arrays.get(arrayId);
    if (!set) this.arrays.set(arrayId, (set = new Set()));
    set.add(w);
    this.hurry();
    return () => {
      set.delete(w);
      if (set.size === 0 && this.arrays.get(arrayId) === set) {
        this.arrays.delete(arrayId);
        this.arrayShape.delete(arrayId);
      }
    };
  }

  /** Something changed (a new job, a job seen starting): poll soon and fast again. */
  hurry(): void {
    this.interval = this.opts.minIntervalMs;
    this.schedule(Math.min(this.opts.minIntervalMs, 1000));
  }

  private forget(jobId: string): void {
    this.watches.delete(jobId);
    this.lastState.delete(jobId);
    this.latest.delete(jobId);
  }

  private schedule(delay: number): void {
    if (this.closed || this.watched() === 0) return;
    const due = Date.now() + delay;
    if (this.timer && this.dueAt <= due) return; // already due sooner
    clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.running || this.closed || this.watched() === 0) return;
    this.running = true;
    const ids = [...this.watches.keys()];
    const arrayIds = [...this.arrays.keys()];
    let changed = false;
    try {
      const statuses = await this.query([...new Set([...ids, ...arrayIds])]);
      if (this.failing) {
        this.failing = false;
        this.opts.onTrouble?.(undefined);
      }
      const seen = new Set<string>();
      if (arrayIds.length) changed = this.deliverArrays(arrayIds, statuses) || changed;
      for (const st of statuses) {
        // Only jobs still watched: one may have ended (end marker) while squeue was running.
        const id = ids.includes(st.jobId) && this.watches.has(st.jobId) ? st.jobId : undefined;
        if (!id) continue;
        seen.add(id);
        if (this.lastState.get(id) !== st.state) changed = true;
        this.lastState.set(id, st.state);
        this.latest.set(id, st);
        for (const w of [...(this.watches.get(id) ?? [])]) w.onStatus(st);
      }
      for (const id of ids) {
        if (seen.has(id) || !this.watches.has(id)) continue;
        changed = true;
        const set = this.watches.get(id);
        this.forget(id);
        for (const w of [...(set ?? [])]) w.onGone();
      }
    } catch (err) {
      this.failing = true;
      this.opts.onTrouble?.(`scheduler not answering (${errorMessage(err).split("\n")[0]}), retrying`);
    } finally {
      this.running = false;
    }
    this.interval = changed
      ? this.opts.minIntervalMs
      : Math.min(this.interval * BACKOFF, this.opts.maxIntervalMs);
    this.schedule(this.interval);
  }

  private watched(): number {
    return this.watches.size + this.arrays.size;
  }

  /** Hands each watched array its rows; an array with none left is gone. Returns whether any changed. */
  private deliverArrays(arrayIds: string[], statuses: JobStatus[]): boolean {
    const rows = new Map<string, JobStatus[]>(arrayIds.map((id) => [id, []]));
    for (const st of statuses) rows.get(st.jobId.split("_")[0]!)?.push(st);
    let changed = false;
    for (const [id, list] of rows) {
      const set = this.arrays.get(id);
      if (!set) continue; // unwatched while squeue ran
      if (list.length === 0) {
        changed = true;
        this.arrays.delete(id);
        this.arrayShape.delete(id);
        for (const w of [...set]) w.onGone();
        continue;
      }
      const shape = list.map((r) => `${r.jobId} ${r.state}`).join("\n");
      if (this.arrayShape.get(id) !== shape) changed = true;
      this.arrayShape.set(id, shape);
      for (const w of [...set]) w.onRows(list);
    }
    return changed;
  }

  private async query(ids: string[]): Promise<JobStatus[]> {
    try {
      const { stdout } = await this.transport.run(["squeue", ...SQUEUE_ARGS, "--jobs", ids.join(",")], {
        timeoutMs: 60_000,
      });
      return parseSqueue(stdout);
    } catch (err) {
      // squeue fails outright when none of the ids is known any more (all ended and purged).
      if (err instanceof CommandError && /Invalid job id specified/i.test(err.stderr)) return [];
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
