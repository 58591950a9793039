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

export interface WatcherOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Called when squeue fails (slurmctld slow or down) and when it answers again. */
  onTrouble?: (message: string | undefined) => void;
}

const BACKOFF = 1.5;

export class SlurmWatcher {
  private readonly watches = new Map<string, Set<Watch>>();
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
    if (this.closed || this.watches.size === 0) return;
    const due = Date.now() + delay;
    if (this.timer && this.dueAt <= due) return; // already due sooner
    clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.running || this.closed || this.watches.size === 0) return;
    this.running = true;
    const ids = [...this.watches.keys()];
    let changed = false;
    try {
      const statuses = await this.query(ids);
      if (this.failing) {
        this.failing = false;
        this.opts.onTrouble?.(undefined);
      }
      const seen = new Set<string>();
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
