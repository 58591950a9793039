/**
 * One execute_request that became a job: turns what the job writes into Jupyter messages for the
 * frontend, answers input() through the stdin channel, and tells how the cell ended.
 */
import type { ErrorContent, ExecuteReplyContent, MessageHeader, RawMessage } from "../protocol/messages";
import type { RunnerEvent } from "../jobs/runner-events";
import { inputReplyValue } from "../protocol/validate";
import { CellJob, type CellJobListener, type CellOffsets, type CellOutcome } from "../jobs/job-follower";
import { diagnoseDeath, type RequestedResources } from "../jobs/diagnose";
import type { JobState, JobStatus } from "../jobs/scheduler";
import { errorMessage } from "../errors";
import type { LiveStatus } from "./live-status";

/** What a cell execution needs from its session. */
export interface CellContext {
  publish(type: "stream", content: { name: "stdout" | "stderr"; text: string }, parent: MessageHeader): void;
  publishRaw(type: string, content: Record<string, unknown>, parent: MessageHeader): void;
  /** Sends an input_request on the stdin channel to the client that asked for the execution; returns its msg_id. */
  requestInput(clientId: string, prompt: string, password: boolean, parent: MessageHeader): string;
  onNamespace(names: Record<string, string>): void;
  onStatus(cell: CellExecution, status: JobStatus): void;
  saveProgress(cell: CellExecution): void;
  log(message: string): void;
}

export interface CellRecordFields {
  seq: number;
  jobId: string;
  executionCount: number;
  parent: MessageHeader;
  clientId: string;
  allowStdin: boolean;
  requested: RequestedResources;
  offsets: CellOffsets;
}

export class CellExecution implements CellJobListener {
  job: CellJob | undefined;
  error: ErrorContent | undefined;
  offsets: CellOffsets = { events: 0, stdout: 0, stderr: 0 };
  private readonly pendingInput = new Map<string, number>();
  private interrupts = 0;
  private cancelled = false;
  /** The status line in the notebook (slurm backend); absent on the local backend. */
  status: LiveStatus | undefined;
  /** How the job ended, for the job book (COMPLETED, FAILED for a cell that raised, or Slurm's state). */
  endState: JobState = "COMPLETED";
  maxRss: string | undefined;
  /** Where the cell ran (from the runner's start event). */
  host: string | undefined;

  constructor(
    private readonly ctx: CellContext,
    readonly seq: number,
    readonly executionCount: number,
    readonly parent: MessageHeader,
    readonly clientId: string,
    readonly allowStdin: boolean,
    readonly requested: RequestedResources,
  ) {}

  get record(): CellRecordFields {
    return {
      seq: this.seq,
      jobId: this.job?.jobId ?? "",
      executionCount: this.executionCount,
      parent: this.parent,
      clientId: this.clientId,
      allowStdin: this.allowStdin,
      requested: this.requested,
      offsets: this.offsets,
    };
  }

  /** Follows the job to its end and builds the execute_reply content. */
  async follow(job: CellJob): Promise<ExecuteReplyContent> {
    this.job = job;
    this.ctx.saveProgress(this);
    if (this.interrupts > 0) void this.interrupt();
    const outcome: CellOutcome = await job.done;
    return this.reply(outcome);
  }

  private reply(outcome: CellOutcome): ExecuteReplyContent {
    const reply = this.replyContent(outcome);
    const seconds = this.status?.elapsedSeconds ?? 0;
    if (reply.status === "ok") {
      this.status?.finish({
        kind: "done",
        ok: true,
        seconds,
        maxRss: outcome.kind === "ended" ? outcome.maxRss : undefined,
      });
    } else if (reply.status === "error") {
      this.status?.finish({ kind: "done", ok: false, seconds, detail: `ended with ${reply.ename}` });
    }
    return reply;
  }

  private replyContent(outcome: CellOutcome): ExecuteReplyContent {
    const count = this.executionCount;
    if (outcome.kind === "ended") {
      this.endState = outcome.status === "ok" ? "COMPLETED" : "FAILED";
      this.maxRss = outcome.maxRss;
    } else {
      this.endState = outcome.final.unknown ? "FAILED" : outcome.final.state;
      this.maxRss = outcome.final.maxRss;
    }
    if (outcome.kind === "ended" && outcome.status === "ok") {
      return { status: "ok", execution_count: count, user_expressions: {}, payload: [] };
    }
    if (outcome.kind === "died") {
      this.error = diagnoseDeath(outcome.final, outcome.started, outcome.stderrTail, this.requested);
      if (this.interrupts > 0 && outcome.final.state !== "TIMEOUT") {
        this.error = {
          ...this.error,
          ename: "KeyboardInterrupt",
          evalue: `the cell was interrupted and its job ${this.job?.jobId ?? ""} cancelled`,
        };
      }
      this.ctx.publishRaw("error", { ...this.error }, this.parent);
    }
    const e = this.error ?? {
      ename: "UnknownError",
      evalue: "the cell failed without saying why",
      traceback: [],
    };
    return {
      status: "error",
      execution_count: count,
      ename: e.ename,
      evalue: e.evalue,
      traceback: e.traceback,
    };
  }

  /** First interrupt: SIGINT (KeyboardInterrupt in the cell). A second one cancels the job. */
  async interrupt(): Promise<void> {
    this.interrupts++;
    const job = this.job;
    if (!job) return; // not submitted yet: follow() interrupts as soon as it is
    try {
      if (this.interrupts === 1) await job.interrupt();
      else await this.cancel();
    } catch (err) {
      this.ctx.log(`interrupt of ${job.jobId} failed: ${errorMessage(err)}`);
    }
  }

  async cancel(): Promise<void> {
    if (this.cancelled || !this.job) return;
    this.cancelled = true;
    await this.job.cancel();
  }

  /** An input_reply from a frontend; true when it answered one of this cell's input requests. */
  handleInputReply(msg: RawMessage): boolean {
    const parentId = (msg.parent_header as Partial<MessageHeader>).msg_id ?? "";
    const seq =
      this.pendingInput.get(parentId) ??
      (this.pendingInput.size === 1 ? [...this.pendingInput.values()][0] : undefined);
    if (seq === undefined || !this.job) return false;
    for (const [id, s] of this.pendingInput) if (s === seq) this.pendingInput.delete(id);
    let reply: { value: string } | { error: string };
    try {
      reply = { value: inputReplyValue(msg) };
    } catch (err) {
      reply = { error: errorMessage(err) };
    }
    void this.job
      .answerInput(seq, reply)
      .catch((err) => this.ctx.log(`answering input failed: ${errorMessage(err)}`));
    return true;
  }

  // ------------------------------------------------------------ CellJobListener

  onEvent(ev: RunnerEvent): void {
    switch (ev.type) {
      case "start":
        if (this.host !== undefined) {
          // A second start: Slurm requeued the job (preemption, node failure, scontrol requeue).
          const text = `alpine-kernel: job ${this.job?.jobId ?? ""} was requeued and started again on ${ev.host}; the output above is from its earlier run.\n`;
          this.ctx.publish("stream", { name: "stderr", text }, this.parent);
        }
        this.host = ev.host;
        this.status?.started(ev.host, ev.time * 1000);
        return;
      case "stream":
        return this.ctx.publish("stream", { name: ev.name, text: ev.text }, this.parent);
      case "display_data":
      case "update_display_data":
        return this.ctx.publishRaw(
          ev.type,
          { data: ev.data, metadata: ev.metadata, transient: ev.transient },
          this.parent,
        );
      case "clear_output":
        return this.ctx.publishRaw("clear_output", { wait: ev.wait }, this.parent);
      case "execute_result":
        return this.ctx.publishRaw(
          "execute_result",
          { execution_count: this.executionCount, data: ev.data, metadata: ev.metadata },
          this.parent,
        );
      case "error":
        this.error = { ename: ev.ename, evalue: ev.evalue, traceback: ev.traceback };
        return this.ctx.publishRaw("error", { ...this.error }, this.parent);
      case "input_request":
        return this.askInput(ev.seq, ev.prompt, ev.password);
      case "namespace":
        if (ev.names) this.ctx.onNamespace(ev.names);
        return;
      case "end":
        return;
    }
  }

  onOutput(name: "stdout" | "stderr", text: string): void {
    this.ctx.publish("stream", { name, text }, this.parent);
  }

  onStatus(status: JobStatus): void {
    this.status?.status(status);
    this.ctx.onStatus(this, status);
  }

  onOffsets(offsets: CellOffsets): void {
    this.offsets = offsets;
    this.ctx.saveProgress(this);
  }

  onTrouble(message: string): void {
    this.status?.trouble("cannot read the job's output right now, retrying");
    this.ctx.log(`cell ${this.seq}: reading job output failed, retrying: ${message}`);
  }

  private askInput(seq: number, prompt: string, password: boolean): void {
    if (!this.allowStdin || !this.job) {
      void this.job?.answerInput(seq, {
        error: "input() is not available: this frontend does not accept input requests",
      });
      return;
    }
    const id = this.ctx.requestInput(this.clientId, prompt, password, this.parent);
    this.pendingInput.set(id, seq);
  }
}
