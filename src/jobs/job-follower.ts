/**
 * One cell's job from submission to its end: writes the cell's files, submits the script, follows
 * the events file and the job's stdout/stderr by byte offset, and tells how it ended. A cell that
 * writes its end marker is finished at once (no scheduler query); one that leaves the queue without
 * it is diagnosed from the scheduler's final state.
 */
import { join } from "node:path";
import type { Transport } from "../cluster/transport";
import { errorMessage } from "../errors";
import { parseRunnerEvents, type RunnerEvent } from "./runner-events";
import type { FinalJobStatus, JobStatus, Scheduler, SubmitSpec } from "./scheduler";
import { LineTail, TextTail } from "./file-tail";

export interface CellPaths {
  code: string;
  script: string;
  events: string;
  stdout: string;
  stderr: string;
}

export function cellPaths(sessionDir: string, seq: number): CellPaths {
  const base = join(sessionDir, "cells", String(seq).padStart(4, "0"));
  return {
    code: `${base}.py`,
    script: `${base}.sh`,
    events: `${base}.events.jsonl`,
    stdout: `${base}.out`,
    stderr: `${base}.err`,
  };
}

/** Byte offsets already delivered, persisted so a restarted server resumes without repeats. */
export interface CellOffsets {
  events: number;
  stdout: number;
  stderr: number;
}

export type CellOutcome =
  | { kind: "ended"; status: "ok" | "error"; maxRss?: string }
  | { kind: "died"; final: FinalJobStatus; started: boolean; stderrTail: string };

export interface CellJobListener {
  /** Runner events in order; consecutive stream events of one name arrive merged. */
  onEvent(event: RunnerEvent): void;
  /** Text the job wrote to its own stdout/stderr (setup, subprocesses, slurmstepd). */
  onOutput(name: "stdout" | "stderr", text: string): void;
  onStatus(status: JobStatus): void;
  onOffsets(offsets: CellOffsets): void;
  /** Reading the job's files failed for now (will retry): e.g. the connection dropped. */
  onTrouble(message: string): void;
}

/** The runner's own peak memory (KiB, from getrusage) in Slurm's spelling. */
function formatRss(kb: number | undefined): string | undefined {
  if (!kb) return undefined;
  const mb = kb / 1024;
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)}G` : `${Math.max(1, Math.round(mb))}M`;
}

const POLL_MIN_MS = 40;
const POLL_MAX_MS = 250;
const QUEUED_POLL_MS = 1000;
const STDERR_TAIL_CHARS = 4000;

export class CellJob {
  readonly done: Promise<CellOutcome>;
  private readonly events: LineTail;
  private readonly stdout: TextTail;
  private readonly stderr: TextTail;
  private stderrTail = "";
  private started = false;
  private queued = false;
  private wakeUp: (() => void) | undefined;
  private stopWatchingDir: (() => void) | undefined;

  private constructor(
    private readonly transport: Transport,
    private readonly scheduler: Scheduler,
    readonly jobId: string,
    readonly paths: CellPaths,
    offsets: CellOffsets,
    private readonly listener: CellJobListener,
    watchDir?: (dir: string, onChange: () => void) => () => void,
  ) {
    this.events = new LineTail(transport, paths.events, offsets.events);
    this.stdout = new TextTail(transport, paths.stdout, offsets.stdout);
    this.stderr = new TextTail(transport, paths.stderr, offsets.stderr);
    this.started = offsets.events > 0;
    if (watchDir) this.stopWatchingDir = watchDir(join(paths.events, ".."), () => this.wakeUp?.());
    this.done = this.follow();
  }

  /** Writes the code and script, submits, and starts following the job. */
  static async submit(
    transport: Transport,
    scheduler: Scheduler,
    paths: CellPaths,
    code: string,
    script: string,
    spec: Omit<SubmitSpec, "scriptPath" | "stdoutPath" | "stderrPath" | "eventsPath">,
    listener: CellJobListener,
    watchDir?: (dir: string, onChange: () => void) => () => void,
  ): Promise<CellJob> {
    await transport.writeFile(paths.code, code);
    await transport.writeFile(paths.script, script, 0o755);
    const jobId = await scheduler.submit({
      ...spec,
      scriptPath: paths.script,
      stdoutPath: paths.stdout,
      stderrPath: paths.stderr,
      eventsPath: paths.events,
    });
    return new CellJob(
      transport,
      scheduler,
      jobId,
      paths,
      { events: 0, stdout: 0, stderr: 0 },
      listener,
      watchDir,
    );
  }

  /** Follows a job submitted earlier (by this server before a restart) from the saved offsets. */
  static resume(
    transport: Transport,
    scheduler: Scheduler,
    jobId: string,
    paths: CellPaths,
    offsets: CellOffsets,
    listener: CellJobListener,
    watchDir?: (dir: string, onChange: () => void) => () => void,
  ): CellJob {
    return new CellJob(transport, scheduler, jobId, paths, offsets, listener, watchDir);
  }

  get offsets(): CellOffsets {
    return { events: this.events.offset, stdout: this.stdout.offset, stderr: this.stderr.offset };
  }

  async answerInput(seq: number, reply: { value: string } | { error: string }): Promise<void> {
    await this.transport.writeFile(`${this.paths.events}.input.${seq}`, JSON.stringify(reply), 0o600);
  }

  /**
   * Jupyter's interrupt. Once the runner has started, SIGINT (KeyboardInterrupt in the cell);
   * before that (queued, or still setting up its environment) there is no Python code to
   * interrupt, and the job is cancelled instead.
   */
  interrupt(): Promise<void> {
    return this.started ? this.scheduler.interrupt(this.jobId) : this.scheduler.cancel(this.jobId);
  }

  cancel(): Promise<void> {
    return this.scheduler.cancel(this.jobId);
  }

  /**
   * A follower resumed at saved offsets: the end marker may lie just before them (the server died
   * after delivering it but before replying). Look back for it, so the cell is not called dead.
   */
  private async endBeforeOffset(): Promise<(RunnerEvent & { type: "end" }) | undefined> {
    const at = this.events.offset;
    if (at === 0) return undefined;
    const from = Math.max(0, at - 8192);
    const buf = await this.transport.readFrom(this.paths.events, from, at - from).catch(() => null);
    if (!buf) return undefined;
    const text = buf.toString("utf8");
    const { events } = parseRunnerEvents(text.slice(from === 0 ? 0 : text.indexOf("\n") + 1));
    const last = events[events.length - 1];
    return last?.type === "end" ? last : undefined;
  }

  private async follow(): Promise<CellOutcome> {
    const ended = await this.endBeforeOffset();
    if (ended) {
      this.stopWatchingDir?.();
      return { kind: "ended", status: ended.status, maxRss: formatRss(ended.maxrss_kb) };
    }
    let gone = false;
    const unwatch = this.scheduler.watch(
      this.jobId,
      (s) => {
        const wasQueued = this.queued;
        this.queued = s.state === "PENDING" && !this.started;
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
        let result: { end?: RunnerEvent & { type: "end" }; got: boolean };
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
          if (await this.drainStd()) this.listener.onOffsets(this.offsets);
          return { kind: "ended", status: result.end.status, maxRss: formatRss(result.end.maxrss_kb) };
        }
        if (wasGone) {
          const final = await this.scheduler.final(this.jobId);
          if (await this.drainStd()) this.listener.onOffsets(this.offsets);
          return { kind: "died", final, started: this.started, stderrTail: this.stderrTail };
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

  private async drain(): Promise<{ end?: RunnerEvent & { type: "end" }; got: boolean }> {
    const before = this.offsets;
    // The three files at once: over SSH, one round trip for all of them.
    const [got, text] = await Promise.all([this.drainStd(), this.events.read()]);
    let end: (RunnerEvent & { type: "end" }) | undefined;
    if (text) {
      const { events, bad } = parseRunnerEvents(text);
      for (const b of bad)
        this.listener.onOutput("stderr", `alpine-kernel: unreadable runner event (${b})\n`);
      let pending: (RunnerEvent & { type: "stream" }) | undefined;
      const flush = () => {
        if (pending) this.listener.onEvent(pending);
        pending = undefined;
      };
      for (const ev of events) {
        if (ev.type === "start") {
          this.started = true;
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
    }
    const after = this.offsets;
    const moved =
      after.events !== before.events || after.stdout !== before.stdout || after.stderr !== before.stderr;
    if (moved) this.listener.onOffsets(after);
    return { end, got: got || moved };
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
