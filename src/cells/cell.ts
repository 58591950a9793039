/**
 * One executed cell: the only owner of its phase (planned → submitting → queued → running →
 * ending → ended). It drives an execution backend and tells its subscribers what happened; nobody
 * else changes it.
 */
import { errorMessage } from "../errors";
import {
  NO_OFFSETS,
  type CellJobSpec,
  type CellOffsets,
  type ExecutionBackend,
  type InputAnswer,
  type JobHandle,
  type JobListener,
  type JobOutcome,
  type PartEnd,
  type PartsSummary,
  type SubmittedJob,
} from "../jobs/backend";
import { dependencyFailure, diagnoseDeath, type JobFailure } from "../jobs/diagnose";
import type { RunnerError, RunnerEvent } from "../jobs/runner-events";
import type { FinalJobStatus, JobStatus } from "../jobs/scheduler";
import { startFromElapsed } from "../jobs/slurm/slurm-time";
import type {
  CellEnd,
  CellEvent,
  CellInfo,
  CellListener,
  CellOutcome,
  CellPhase,
  PageRequest,
  PartFailure,
} from "./cell-types";

const QUEUED_STATES = new Set(["PENDING", "CONFIGURING", "REQUEUED"]);
const UNKNOWN_ERROR: RunnerError = {
  ename: "UnknownError",
  evalue: "the cell failed without saying why",
  traceback: [],
};
const RUNNING_STATES = new Set(["RUNNING", "COMPLETING"]);

export class Cell {
  readonly id: string;
  /** Resolves when the cell has ended, however it ended. */
  readonly finished: Promise<CellEnd>;
  private phaseNow: CellPhase = { name: "planned" };
  private readonly listeners = new Set<CellListener>();
  private handle: JobHandle | undefined;
  private job: SubmittedJob | undefined;
  private submittedAt: number | undefined;
  private runningSince: number | undefined;
  private host: string | undefined;
  private lastError: RunnerError | undefined;
  private readonly pages: PageRequest[] = [];
  private lastStatus: JobStatus | undefined;
  private lastParts: PartsSummary | undefined;
  /** Its job waits on a dependency that failed (Slurm's DependencyNeverSatisfied). */
  private dependencyFailed = false;
  private offsetsNow: CellOffsets = NO_OFFSETS;
  private interrupts = 0;
  private cancelRequested = false;
  private cancelSent = false;
  private settle!: (end: CellEnd) => void;

  constructor(
    readonly info: CellInfo,
    private readonly warn: (message: string) => void,
  ) {
    this.id = `${info.sessionId}/${info.seq}`;
    this.finished = new Promise((resolve) => (this.settle = resolve));
  }

  get phase(): CellPhase {
    return this.phaseNow;
  }
  get jobId(): string | undefined {
    return this.job?.jobId;
  }
  get submittedJob(): SubmittedJob | undefined {
    return this.job;
  }
  get submitted(): number | undefined {
    return this.submittedAt;
  }
  get offsets(): CellOffsets {
    return this.offsetsNow;
  }
  /** The scheduler's last word on the job while it is in flight. */
  get queueStatus(): JobStatus | undefined {
    return this.phaseNow.name === "ended" ? undefined : this.lastStatus;
  }
  /** Where an array's tasks (or an srun cell's) are, last heard. */
  get parts(): PartsSummary | undefined {
    return this.lastParts;
  }

  on(listener: CellListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes and submits the cell's job, then follows it; rejects (and the cell ends) if submission fails. */
  async submit(backend: ExecutionBackend, spec: CellJobSpec): Promise<void> {
    this.setPhase({ name: "submitting" });
    let job: SubmittedJob;
    try {
      job = await backend.submit(spec);
    } catch (err) {
      this.end({ kind: "refused", error: err });
      throw err;
    }
    this.submittedAt = Date.now();
    this.follow(backend, job, NO_OFFSETS);
  }

  /** Follows a cell submitted before a server restart, from the offsets already delivered. */
  resume(backend: ExecutionBackend, job: SubmittedJob, submittedAt: number, from: CellOffsets): void {
    this.submittedAt = submittedAt;
    this.offsetsNow = from;
    this.follow(backend, job, from);
  }

  private follow(backend: ExecutionBackend, job: SubmittedJob, from: CellOffsets): void {
    this.job = job;
    this.setPhase({ name: "queued", jobId: job.jobId, since: Date.now() });
    const handle = backend.follow(job, from, this.listener(job.jobId));
    this.handle = handle;
    // Stop pressed (or the kernel shut down) while the job was being submitted.
    if (this.cancelRequested)
      this.cancel().catch((err) => this.warn(`cancel of ${job.jobId} failed: ${errorMessage(err)}`));
    else if (this.interrupts > 0) void this.interrupt(); // interrupt() reports its own failures
    handle.done.then(
      (outcome) => this.end(this.outcomeOf(outcome, job.jobId)),
      (err: unknown) =>
        this.end({ kind: "lost", message: `following job ${job.jobId} failed: ${errorMessage(err)}` }),
    );
  }

  /** Jupyter's interrupt: KeyboardInterrupt in the cell; a second one cancels its job. */
  async interrupt(): Promise<void> {
    this.interrupts++;
    const handle = this.handle;
    if (!handle) return; // not submitted yet: applied as soon as it is
    try {
      if (this.interrupts === 1) await handle.interrupt();
      else await this.cancel();
    } catch (err) {
      this.warn(`interrupt of ${handle.jobId} failed: ${errorMessage(err)}`);
    }
  }

  /** Cancels the cell's job (once); before it has one, as soon as it has. */
  async cancel(): Promise<void> {
    this.cancelRequested = true;
    const handle = this.handle;
    if (!handle || this.cancelSent || this.phaseNow.name === "ended") return;
    this.cancelSent = true;
    await handle.cancel();
  }

  /** Answers the runner's input request `seq`. */
  answerInput(seq: number, answer: InputAnswer): void {
    const handle = this.handle;
    if (!handle) return;
    handle.answerInput(seq, answer).catch((err) => this.warn(`answering input failed: ${errorMessage(err)}`));
  }

  // ------------------------------------------------------------ from the backend

  private listener(jobId: string): JobListener {
    return {
      onEvent: (ev) => this.onRunnerEvent(ev, jobId),
      onOutput: (name, text) => this.emit({ type: "output", output: { type: "stream", name, text } }),
      onStatus: (s) => this.onStatus(s, jobId),
      onOffsets: (offsets) => {
        this.offsetsNow = offsets;
        this.emit({ type: "offsets", offsets });
      },
      onEnding: () => this.setPhase({ name: "ending", jobId }),
      onTrouble: (message) => {
        this.warn(`cell ${this.info.seq}: reading job output failed, retrying: ${message}`);
        this.emit({ type: "trouble", message });
      },
      onParts: (summary) => {
        this.lastParts = summary;
        this.emit({ type: "parts", summary });
      },
    };
  }

  private onRunnerEvent(ev: RunnerEvent, jobId: string): void {
    switch (ev.type) {
      case "start": {
        // A second start: Slurm requeued the job (preemption, node failure, scontrol requeue).
        if (this.host !== undefined) this.emit({ type: "requeued", host: ev.host });
        this.host = ev.host;
        this.runningSince = ev.time * 1000;
        const p = this.phaseNow;
        const running = p.name === "running" ? p : undefined;
        this.setPhase({
          name: "running",
          jobId,
          since: this.runningSince,
          node: running?.node ?? ev.host,
          status: running?.status,
        });
        return;
      }
      case "error":
        this.lastError = { ename: ev.ename, evalue: ev.evalue, traceback: ev.traceback };
        return this.emit({ type: "output", output: ev });
      case "input_request":
        if (!this.info.origin.allowStdin) {
          this.answerInput(ev.seq, {
            error: "input() is not available: this frontend does not accept input requests",
          });
          return;
        }
        return this.emit({ type: "input", seq: ev.seq, prompt: ev.prompt, password: ev.password });
      case "namespace":
        if (ev.names) this.emit({ type: "namespace", names: ev.names });
        return;
      case "page": {
        const page = { data: ev.data, start: ev.start };
        this.pages.push(page);
        return this.emit({ type: "page", page });
      }
      case "end":
        return;
      default:
        return this.emit({ type: "output", output: ev });
    }
  }

  private onStatus(s: JobStatus, jobId: string): void {
    this.lastStatus = s;
    if (s.reason === "DependencyNeverSatisfied" && !this.dependencyFailed) {
      // It would wait for ever: say so now (the end tells why) and free the queue of it.
      this.dependencyFailed = true;
      this.cancel().catch((err) => this.warn(`cancel of ${jobId} failed: ${errorMessage(err)}`));
    }
    const p = this.phaseNow;
    if (p.name !== "queued" && p.name !== "running") return;
    if (QUEUED_STATES.has(s.state)) {
      this.setPhase({ name: "queued", jobId, since: p.name === "queued" ? p.since : Date.now(), status: s });
    } else if (RUNNING_STATES.has(s.state)) {
      this.runningSince ??= startFromElapsed(s.elapsed) ?? Date.now();
      this.setPhase({
        name: "running",
        jobId,
        since: this.runningSince,
        node: s.node ?? this.host,
        status: s,
      });
    }
  }

  // ------------------------------------------------------------ the end

  private outcomeOf(outcome: JobOutcome, jobId: string): CellOutcome {
    if (outcome.kind === "parts") return this.partsOutcome(outcome.summary);
    if (outcome.kind === "ended") {
      if (outcome.status === "ok") return { kind: "completed", maxRss: outcome.maxRss };
      return { kind: "raised", error: this.lastError ?? UNKNOWN_ERROR, maxRss: outcome.maxRss };
    }
    let failure = this.deathOf(outcome.final, outcome.started, outcome.stderrTail);
    if (this.dependencyFailed || this.cancelledWaitingOnDependency(outcome.final, outcome.started)) {
      failure = dependencyFailure(
        jobId,
        (this.info.after ?? []).map((d) => d.label),
        !this.dependencyFailed,
      );
    } else if (this.interrupts > 0 && outcome.final.state !== "TIMEOUT") {
      failure = {
        ...failure,
        name: "KeyboardInterrupt",
        message: `the cell was interrupted and its job ${jobId} cancelled`,
      };
    }
    return { kind: "died", failure, final: outcome.final };
  }

  private deathOf(final: FinalJobStatus, started: boolean, stderrTail: string): JobFailure {
    const subject = this.info.mode === "bash" ? "script" : "python";
    return diagnoseDeath(final, started, stderrTail, this.info.requested, subject);
  }

  /** Cancelled before it started, not by us, while its dependency was pending: kill_invalid_depend. */
  private cancelledWaitingOnDependency(final: FinalJobStatus, started: boolean): boolean {
    return (
      !started &&
      final.state === "CANCELLED" &&
      !this.cancelRequested &&
      this.interrupts === 0 &&
      Boolean(this.info.after?.length) &&
      this.lastStatus?.reason === "Dependency"
    );
  }

  /** Every task ended: completed when none failed, else each failure told as a single cell's would be. */
  private partsOutcome(summary: PartsSummary): CellOutcome {
    this.lastParts = summary;
    const failures = summary.failed.map((p) => this.partFailure(p, summary.unit));
    if (!failures.length) return { kind: "completed" };
    return { kind: "parts", summary, failures, interrupted: this.interrupts > 0 };
  }

  private partFailure(p: PartEnd, unit: "task" | "rank"): PartFailure {
    const o = p.outcome;
    if (o.kind === "ended") {
      // Rank 0's exception reached the cell as its own; the others' were read from their files.
      const e = p.error ?? (unit === "rank" && p.index === 0 ? this.lastError : undefined) ?? UNKNOWN_ERROR;
      return {
        index: p.index,
        jobId: p.jobId,
        state: "FAILED",
        failure: { name: e.ename, message: e.evalue, details: [] },
      };
    }
    return {
      index: p.index,
      jobId: p.jobId,
      state: o.final.state,
      failure: this.deathOf(o.final, o.started, o.stderrTail),
    };
  }

  private end(outcome: CellOutcome): void {
    if (this.phaseNow.name === "ended") return;
    const final = outcome.kind === "died" ? outcome.final : undefined;
    const end: CellEnd = {
      outcome,
      state: outcome.kind === "completed" ? "COMPLETED" : final && !final.unknown ? final.state : "FAILED",
      seconds: this.runningSince ? (Date.now() - this.runningSince) / 1000 : 0,
      maxRss: outcome.kind === "completed" || outcome.kind === "raised" ? outcome.maxRss : final?.maxRss,
      node: this.host,
      at: Date.now(),
      pages: this.pages,
    };
    this.setPhase({ name: "ended", end });
    this.settle(end);
  }

  private setPhase(phase: CellPhase): void {
    this.phaseNow = phase;
    this.emit({ type: "phase", phase });
  }

  private emit(event: CellEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}
