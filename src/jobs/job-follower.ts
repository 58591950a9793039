/**
 * Follows one cell's files from byte offsets until the cell is over: the events file and the job's
 * stdout/stderr. A cell that writes its end marker is finished at once (no scheduler query); one
 * whose job leaves the queue without it is "died", with the final state the liveness source gives.
 * Every file is read to its end before the cell is called over, however much it holds: in chunks,
 * each delivered before the next is read. Backend-neutral: what tells it the job is alive (squeue,
 * a pid, an allocation's daemon) is a `JobLiveness`.
 */
import { join } from "node:path";
import type { Transport } from "../cluster/transport";
import { errorMessage } from "../errors";
import type { CellOffsets, JobListener, SingleOutcome } from "./backend";
import { LineTail, TextTail, type LineChunk } from "./file-tail";
import { OutputBudget, type OutputLimit } from "./output-budget";
import { parseRunnerEvents, type RunnerEvent } from "./runner-events";
import type { FinalJobStatus, StatusListener } from "./scheduler";
import type { CellPaths } from "./session-files";

export type { OutputLimit } from "./output-budget";

/** Whether a job is still there, and how it ended once it is not. */
export interface JobLiveness {
  /** Live statuses; `onGone` is called once when the job has left the queue. */
  watch(jobId: string, onStatus: StatusListener, onGone: () => void): () => void;
  final(jobId: string): Promise<FinalJobStatus>;
}

/** Wakes a follower when a directory changes (local file systems only; polling covers the rest). */
export type DirWatcher = (dir: string, onChange: () => void) => () => void;

/** The runner's own peak memory (KiB, from getrusage) in Slurm's spelling. */
export function formatRss(kb: number | undefined): string | undefined {
  if (!kb) return undefined;
  const mb = kb / 1024;
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)}G` : `${Math.max(1, Math.round(mb))}M`;
}

type EndEvent = RunnerEvent & { type: "end" };

const POLL_MIN_MS = 40;
const POLL_MAX_MS = 250;
const QUEUED_POLL_MS = 1000;
const STDERR_TAIL_CHARS = 4000;

export interface FollowOptions {
  watchDir?: DirWatcher;
  /** How much output the notebook is sent; the rest stays in the files (see OutputBudget). */
  outputLimit?: OutputLimit;
}

export class JobFollower {
  readonly done: Promise<SingleOutcome>;
  private readonly events: LineTail;
  private readonly stdout: TextTail;
  private readonly stderr: TextTail;
  private readonly budget: OutputBudget;
  private stderrTail = "";
  private startedFlag: boolean;
  /** The runner started again (a requeued job): its stdout/stderr files may have been started anew. */
  private restarted = false;
  private queued = false;
  private wakeUp: (() => void) | undefined;
  private readonly stopWatchingDir: (() => void) | undefined;

  constructor(
    transport: Transport,
    private readonly liveness: JobLiveness,
    readonly jobId: string,
    private readonly paths: CellPaths,
    offsets: CellOffsets,
    private readonly listener: JobListener,
    options: FollowOptions = {},
  ) {
    this.events = new LineTail(transport, paths.events, offsets.events);
    this.stdout = new TextTail(transport, paths.stdout, offsets.stdout);
    this.stderr = new TextTail(transport, paths.stderr, offsets.stderr);
    this.budget = new OutputBudget(options.outputLimit, paths);
    this.startedFlag = offsets.events > 0;
    this.stopWatchingDir = options.watchDir?.(join(paths.events, ".."), () => this.wakeUp?.());
    this.done = this.follow(transport);
  }

  get started(): boolean {
    return this.startedFlag;
  }

  get offsets(): CellOffsets {
    return { events: this.events.offset, stdout: this.stdout.offset, stderr: this.stderr.offset };
  }

  /**
   * A follower resumed at saved offsets: the end marker may lie just before them (the server died
   * after delivering it but before replying). Look back for it, so the cell is not called dead.
   */
  private async endBeforeOffset(transport: Transport): Promise<EndEvent | undefined> {
    const at = this.events.offset;
    if (at === 0) return undefined;
    const from = Math.max(0, at - 8192);
    const buf = await transport.readFrom(this.paths.events, from, at - from).catch(() => null);
    if (!buf) return undefined;
    const text = buf.toString("utf8");
    const { events } = parseRunnerEvents(text.slice(from === 0 ? 0 : text.indexOf("\n") + 1));
    const last = events[events.length - 1];
    return last?.type === "end" ? last : undefined;
  }

  private async follow(transport: Transport): Promise<SingleOutcome> {
    const ended = await this.endBeforeOffset(transport);
    if (ended) {
      this.stopWatchingDir?.();
      return { kind: "ended", status: ended.status, maxRss: formatRss(ended.maxrss_kb), endTime: ended.time };
    }
    let gone = false;
    const unwatch = this.liveness.watch(
      this.jobId,
      (s) => {
        const wasQueued = this.queued;
        this.queued = s.state === "PENDING" && !this.startedFlag;
        // Leaving the queue ends the slow polling at once (over SSH nothing else wakes the tail).
        if (wasQueued && !this.queued) this.wakeUp?.();
        this.listener.onStatus(s);
      },
      () => {
        gone = true;
        this.wakeUp?.();
      },
    );
    let delay = POLL_MIN_MS;
    try {
      for (;;) {
        const wasGone = gone;
        let result: { end?: EndEvent; got: boolean };
        try {
          result = await this.drain(false);
        } catch (err) {
          // A read that failed (connection lost, file system hiccup): try again later, lose nothing.
          this.listener.onTrouble(errorMessage(err));
          delay = Math.min(delay * 2, 5000);
          await this.sleep(delay);
          continue;
        }
        if (result.end) {
          this.listener.onEnding();
          await this.untilRead(() => this.drain(true));
          const { status, maxrss_kb, time } = result.end;
          return { kind: "ended", status, maxRss: formatRss(maxrss_kb), endTime: time };
        }
        if (wasGone) {
          // drain() read every file to its end: nothing more will come, and no end marker did.
          this.listener.onEnding();
          const final = await this.liveness.final(this.jobId);
          return { kind: "died", final, started: this.startedFlag, stderrTail: this.stderrTail };
        }
        delay = result.got ? POLL_MIN_MS : Math.min(delay * 1.5, POLL_MAX_MS);
        // Nothing can be written while the job waits in the queue: look rarely (it matters over SSH).
        await this.sleep(this.queued ? Math.max(delay, QUEUED_POLL_MS) : delay);
      }
    } finally {
      unwatch();
      this.stopWatchingDir?.();
    }
  }

  /** After the end marker: the job's own stdout/stderr to their ends, retrying reads that fail. */
  private async untilRead(read: () => Promise<unknown>): Promise<void> {
    for (let delay = POLL_MIN_MS; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await read();
        return;
      } catch (err) {
        this.listener.onTrouble(errorMessage(err));
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /**
   * Reads the three files (at once: over SSH one round trip for all of them) chunk by chunk until
   * each is read to its end, delivering each round before reading the next and saving the offsets
   * right after what they cover was delivered (no await in between: a server killed at any moment
   * repeats nothing and loses nothing). `stdOnly`: the events file is over (its end marker was read).
   */
  private async drain(stdOnly: boolean): Promise<{ end?: EndEvent; got: boolean }> {
    let got = false;
    for (;;) {
      if (this.restarted) {
        this.restarted = false;
        await Promise.all([this.stdout.rewindIfTruncated(), this.stderr.rewindIfTruncated()]);
      }
      const before = this.offsets;
      const over = this.budget.over(before);
      const [ev, out, err] = await Promise.all([
        stdOnly ? undefined : this.events.read(),
        this.stdout.read(),
        this.stderr.read(),
      ]);
      if (out.data) this.std("stdout", out.data, over);
      if (err.data) this.std("stderr", err.data, over);
      let end = ev ? this.deliver(ev.data, over) : undefined;
      // Output shown but no start seen: the events file was read just before the start was written
      // (a %%bash script prints at once). Read it again, so an interrupt now is SIGINT, not scancel.
      if (!stdOnly && !end && !this.startedFlag && (out.data || err.data)) {
        const again = await this.events.read();
        end = this.deliver(again.data, over);
      }
      const after = this.offsets;
      const moved =
        after.events !== before.events || after.stdout !== before.stdout || after.stderr !== before.stderr;
      if (moved) this.listener.onOffsets(after);
      got ||= moved;
      if (!over && this.budget.over(after)) this.listener.onOutput("stderr", await this.budget.notice());
      if (end) return { end, got };
      if (!(ev?.more || out.more || err.more)) return { got };
    }
  }

  private std(name: "stdout" | "stderr", text: string, over: boolean): void {
    if (name === "stderr") this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
    if (!over) this.listener.onOutput(name, text);
  }

  /** Hands complete events to the listener (consecutive streams of one name merged); returns the end marker. */
  private deliver(chunk: LineChunk, over: boolean): EndEvent | undefined {
    if (!over) for (const s of chunk.skipped) this.listener.onOutput("stderr", this.budget.tooLong(s));
    if (!chunk.lines.length) return undefined;
    const { events, bad } = parseRunnerEvents(this.budget.kept(chunk.lines, over));
    for (const b of bad) this.listener.onOutput("stderr", `alpine-kernel: unreadable runner event (${b})\n`);
    let end: EndEvent | undefined;
    let pending: (RunnerEvent & { type: "stream" }) | undefined;
    const flush = () => {
      if (pending) this.listener.onEvent(pending);
      pending = undefined;
    };
    for (const ev of events) {
      if (ev.type === "start") {
        this.restarted ||= this.startedFlag;
        this.startedFlag = true;
        this.queued = false;
      }
      if (ev.type === "stream") {
        if (ev.name === "stderr") this.stderrTail = (this.stderrTail + ev.text).slice(-STDERR_TAIL_CHARS);
        if (over) continue;
        if (pending && pending.name === ev.name) pending = { ...pending, text: pending.text + ev.text };
        else {
          flush();
          pending = ev;
        }
        continue;
      }
      if (over && (ev.type === "display_data" || ev.type === "update_display_data")) continue;
      flush();
      if (ev.type === "end") end = ev;
      else this.listener.onEvent(ev);
    }
    flush();
    return end;
  }
}
