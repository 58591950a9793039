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
  type PartsSummary,
  type SubmittedJob,
} from "../jobs/backend";
import { dependencyFailure, diagnoseDeath, type JobFailure } from "../jobs/diagnose";
import type { RunnerError, RunnerEvent } from "../jobs/runner-events";
import type { FinalJobStatus, JobStatus } from "../jobs/scheduler";
import type { StartHint } from "../jobs/slurm/start-hints";
import { startFromElapsed } from "../jobs/slurm/slurm-time";
import type {
  CellEnd,
  CellEvent,
  CellInfo,
  CellListener,
  CellOutcome,
  CellPhase,
  PageRequest,
  NamespaceUse,
} from "./cell-types";
import { partsOutcome, UNKNOWN_ERROR } from "./parts-error";

const QUEUED_STATES = new Set(["PENDING", "CONFIGURING", "REQUEUED"]);

function namespaceUse(ev: RunnerEvent & { type: "namespace" }): NamespaceUse {
  return {
    total: ev.total ?? 0,
    loaded: ev.loaded ?? 0,
    loadedBytes: ev.loaded_bytes ?? 0,
    mappedBytes: ev.mapped_bytes ?? 0,
    loadSeconds: ev.load_seconds ?? 0,
    written: ev.written ?? 0,
    writtenBytes: ev.written_bytes ?? 0,
    saveSeconds: ev.read_only ? 0 : (ev.seconds ?? 0),
    ...(ev.read_only || ev.bytes === undefined ? {} : { storeBytes: ev.bytes }),
  };
}
const RUNNING_STATES = new Set(["RUNNING", "COMPLETING"]);

const STOPPED_FOR_REQUEUE = /\*\*\* JOB \d+ ON \S+ CANCELLED AT \S+ DUE TO (JOB REQUEUE|PREEMPTION)/;

/** Why Slurm put a running job back in the queue, from what slurmstepd wrote to its stderr. */
function requeueCause(stderr: string): string {
  if (/DUE TO JOB REQUEUE/.test(stderr)) return "it was requeued with scontrol requeue";
  if (/DUE TO PREEMPTION/.test(stderr)) return "it was preempted by a higher-priority job";
  return "its node failed, or it was preempted or requeued";
}

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
  private ranSeconds: number | undefined;
  private host: string | undefined;
  private lastError: RunnerError | undefined;
  private readonly pages: PageRequest[] = [];
  private lastStatus: JobStatus | undefined;
  private hintNow: StartHint | undefined;
  private lastParts: PartsSummary | undefined;
  /** Its job waits on a dependency that failed (Slurm's DependencyNeverSatisfied). */
  private dependencyFailed = false;
  private offsetsNow: CellOffsets = NO_OFFSETS;
  private interrupts = 0;
  /** The last of the job's stderr (slurmstepd says there why it stopped a job). */
  private stderrRecent = "";
  /** The running job was seen back in the queue (said once per run). */
  private requeueing = false;
  private cancelRequested = false;
  private cancelSent = false;
  private settle!: (end: CellEnd) => void;
  /** Withdraws a submission still waiting for the scheduler (interrupt, cancel). */
  private readonly withdraw = new AbortController();

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
  /** A request that would start sooner, while the cell waits. */
  get startHint(): StartHint | undefined {
    return this.phaseNow.name === "queued" ? this.hintNow : undefined;
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
      job = await backend.submit(spec, {
        signal: this.withdraw.signal,
        onWaiting: (waiting) => {
          if (this.phaseNow.name === "submitting") this.setPhase({ name: "submitting", waiting });
        },
      });
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
    if (!handle) {
      // Not submitted yet: a submission waiting for the scheduler is withdrawn; otherwise the
      // interrupt is applied as soon as the job exists.
      this.withdraw.abort();
      return;
    }
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
    this.withdraw.abort();
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
      onOutput: (name, text) => {
        this.emit({ type: "output", output: { type: "stream", name, text } });
        if (name !== "stderr") return;
        this.stderrRecent = (this.stderrRecent + text).slice(-2000);
        // slurmstepd's own words can come before squeue shows the job back in the queue.
        if (STOPPED_FOR_REQUEUE.test(text)) this.onRequeue();
      },
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
      onHint: (hint) => {
        this.hintNow = hint;
        this.emit({ type: "hint", hint });
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
        this.requeueing = false;
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
        return this.emit({
          type: "namespace",
          ...(ev.names ? { names: ev.names } : {}),
          ...(ev.modules && ev.types ? { kinds: { modules: ev.modules, types: ev.types } } : {}),
          use: namespaceUse(ev),
        });
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

  /** Said once per run, when a job that ran is seen stopped for a requeue. */
  private onRequeue(): void {
    if (this.host === undefined || this.requeueing || this.phaseNow.name === "ended") return;
    this.requeueing = true;
    this.runningSince = undefined;
    this.emit({ type: "requeueing", cause: requeueCause(this.stderrRecent) });
  }

  private onStatus(s: JobStatus, jobId: string): void {
    this.lastStatus = s;
    if (s.reason === "DependencyNeverSatisfied" && !this.dependencyFailed) {
      // It would wait for ever: say so now (the end tells why) and free the queue of it.
      this.dependencyFailed = true;
      this.cancel().catch((err) => this.warn(`cancel of ${jobId} failed: ${errorMessage(err)}`));
    }
    const p = this.phaseNow;
    // Back in the queue after it ran: node failure, preemption or `scontrol requeue`.
    if (QUEUED_STATES.has(s.state)) this.onRequeue();
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
    if (outcome.kind === "parts") {
      this.lastParts = outcome.summary;
      const deathOf = (f: FinalJobStatus, started: boolean, tail: string) => this.deathOf(f, started, tail);
      return partsOutcome(outcome.summary, this.lastError, this.interrupts > 0, deathOf);
    }
    if (outcome.kind === "ended") {
      // The runner's own clock for both ends: no skew between the server's and the node's.
      if (outcome.endTime && this.runningSince) this.ranSeconds = outcome.endTime - this.runningSince / 1000;
      if (outcome.status === "ok") return { kind: "completed", maxRss: outcome.maxRss };
      return { kind: "raised", error: this.lastError ?? UNKNOWN_ERROR, maxRss: outcome.maxRss };
    }
    let failure = outcome.failure ?? this.deathOf(outcome.final, outcome.started, outcome.stderrTail);
    if (this.dependencyFailed || this.cancelledWaitingOnDependency(outcome.final, outcome.started)) {
      failure = dependencyFailure(
        jobId,
        (this.info.after ?? []).map((d) => d.label),
        !this.dependencyFailed,
      );
    } else if (!outcome.failure && this.interrupts > 0 && outcome.final.state !== "TIMEOUT") {
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

  private end(outcome: CellOutcome): void {
    if (this.phaseNow.name === "ended") return;
    const final = outcome.kind === "died" ? outcome.final : undefined;
    const end: CellEnd = {
      outcome,
      state: outcome.kind === "completed" ? "COMPLETED" : final && !final.unknown ? final.state : "FAILED",
      seconds: this.ranSeconds ?? (this.runningSince ? (Date.now() - this.runningSince) / 1000 : 0),
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
