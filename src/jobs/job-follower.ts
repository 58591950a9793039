/**
 * Follows one cell's files from byte offsets until the cell is over: the events file and the job's
 * stdout/stderr. A cell that writes its end marker is finished at once (no scheduler query); one
 * whose job leaves the queue without it is "died", with the final state the liveness source gives.
 * Backend-neutral: what tells it the job is alive (squeue, a pid, an allocation's daemon) is a
 * `JobLiveness`.
 */
import { join } from "node:path";
import type { Transport } from "../cluster/transport";
import { errorMessage } from "../errors";
import type { CellOffsets, JobListener, SingleOutcome } from "./backend";
import { LineTail, TextTail } from "./file-tail";
import { parseRunnerEvents, type RunnerEvent } from "./runner-events";
import type { FinalJobStatus, StatusListener } from "./scheduler";
import type { CellPaths } from "./session-files";

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

export class JobFollower {
  readonly done: Promise<SingleOutcome>;
  private readonly events: LineTail;
  private readonly stdout: TextTail;
  private readonly stderr: TextTail;
  private stderrTail = "";
  private startedFlag: boolean;
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
    watchDir?: DirWatcher,
  ) {
    this.events = new LineTail(transport, paths.events, offsets.events);
    this.stdout = new TextTail(transport, paths.stdout, offsets.stdout);
    this.stderr = new TextTail(transport, paths.stderr, offsets.stderr);
    this.startedFlag = offsets.events > 0;
    this.stopWatchingDir = watchDir?.(join(paths.events, ".."), () => this.wakeUp?.());
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
      return { kind: "ended", status: ended.status, maxRss: formatRss(ended.maxrss_kb) };
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
          result = await this.drain();
        } catch (err) {
          // A read that failed (connection lost, file system hiccup): try again later, lose nothing.
          this.listener.onTrouble(errorMessage(err));
          delay = Math.min(delay * 2, 5000);
          await this.sleep(delay);
          continue;
        }
        if (result.end) {
          this.listener.onEnding();
          if (await this.drainStd()) this.listener.onOffsets(this.offsets);
          return { kind: "ended", status: result.end.status, maxRss: formatRss(result.end.maxrss_kb) };
        }
        if (wasGone) {
          this.listener.onEnding();
          const final = await this.liveness.final(this.jobId);
          if (await this.drainStd()) this.listener.onOffsets(this.offsets);
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

  private async drain(): Promise<{ end?: EndEvent; got: boolean }> {
    const before = this.offsets;
    // The three files at once: over SSH, one round trip for all of them.
    const [got, text] = await Promise.all([this.drainStd(), this.events.read()]);
    let end = text ? this.deliver(text) : undefined;
    // Output shown but no start seen: the events file was read just before the start was written
    // (a %%bash script prints at once). Read it again, so an interrupt now is SIGINT, not scancel.
    if (got && !this.startedFlag && !end) {
      const again = await this.events.read();
      if (again) end = this.deliver(again);
    }
    const after = this.offsets;
    const moved =
      after.events !== before.events || after.stdout !== before.stdout || after.stderr !== before.stderr;
    if (moved) this.listener.onOffsets(after);
    return { end, got: got || moved };
  }

  /** Hands complete events to the listener (consecutive streams of one name merged); returns the end marker. */
  private deliver(text: string): EndEvent | undefined {
    const { events, bad } = parseRunnerEvents(text);
    for (const b of bad) this.listener.onOutput("stderr", `alpine-kernel: unreadable runner event (${b})\n`);
    let end: EndEvent | undefined;
    let pending: (RunnerEvent & { type: "stream" }) | undefined;
    const flush = () => {
      if (pending) this.listener.onEvent(pending);
      pending = undefined;
    };
    for (const ev of events) {
      if (ev.type === "start") {
        this.startedFlag = true;
        this.queued = false;
      }
      if (ev.type === "stream") {
        if (ev.name === "stderr") this.stderrTail = (this.stderrTail + ev.text).slice(-STDERR_TAIL_CHARS);
        if (pending && pending.name === ev.name) pending = { ...pending, text: pending.text + ev.text };
        else {
          flush();
          pending = ev;
        }
        continue;
      }
      flush();
      if (ev.type === "end") end = ev;
      else this.listener.onEvent(ev);
    }
    flush();
    return end;
  }

  private async drainStd(): Promise<boolean> {
    const [out, err] = await Promise.all([this.stdout.read(), this.stderr.read()]);
    if (out) this.listener.onOutput("stdout", out);
    if (err) {
      this.stderrTail = (this.stderrTail + err).slice(-STDERR_TAIL_CHARS);
      this.listener.onOutput("stderr", err);
    }
    return Boolean(out || err);
  }
}
