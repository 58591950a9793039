/**
 * A hand-written fake of the ExecutionBackend interface for unit tests of cells and what
 * subscribes to them: submission answers with a job id (or a scripted refusal), and the test
 * plays the job's side through the listener the cell gave, then ends it.
 */
import type { CellInfo } from "../../../src/cells/cell-types";
import type {
  CellJobSpec,
  CellOffsets,
  ExecutionBackend,
  InputAnswer,
  JobHandle,
  JobListener,
  JobOutcome,
  SubmittedJob,
} from "../../../src/jobs/backend";
import type { RunnerEvent } from "../../../src/jobs/runner-events";
import type { FinalJobStatus } from "../../../src/jobs/scheduler";
import type { MessageHeader } from "../../../src/protocol/messages";

export class FakeJob implements JobHandle {
  readonly done: Promise<JobOutcome>;
  started = false;
  interrupts = 0;
  cancels = 0;
  answers: [number, InputAnswer][] = [];
  private settle!: (o: JobOutcome) => void;
  private fail!: (e: unknown) => void;

  constructor(
    readonly jobId: string,
    readonly listener: JobListener,
    readonly from: CellOffsets,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
  }

  async answerInput(seq: number, answer: InputAnswer): Promise<void> {
    this.answers.push([seq, answer]);
  }
  async interrupt(): Promise<void> {
    this.interrupts++;
  }
  async cancel(): Promise<void> {
    this.cancels++;
  }

  /** The runner's events, as the follower delivers them. */
  emit(...events: RunnerEvent[]): void {
    for (const e of events) {
      if (e.type === "start") this.started = true;
      this.listener.onEvent(e);
    }
  }
  start(host = "c3cpu-a1-u1-1", atMs = Date.now()): void {
    this.emit({
      type: "start",
      time: atMs / 1000,
      host,
      pid: 4242,
      python: "3.11.2",
      ipython: false,
      dill: false,
    });
  }
  end(outcome: JobOutcome): void {
    this.listener.onEnding();
    this.settle(outcome);
  }
  die(final: Partial<FinalJobStatus> = {}, stderrTail = ""): void {
    const f: FinalJobStatus = { jobId: this.jobId, state: "FAILED", exitCode: 1, signal: 0, ...final };
    this.end({ kind: "died", final: f, started: this.started, stderrTail });
  }
  breakFollowing(err: unknown): void {
    this.fail(err);
  }
}

export class FakeBackend implements ExecutionBackend {
  readonly specs: CellJobSpec[] = [];
  readonly jobs: FakeJob[] = [];
  /** Set to make the next submission fail. */
  refuse: unknown;
  private nextId = 28;

  ignoredOptions(): [] {
    return [];
  }

  async submit(spec: CellJobSpec): Promise<SubmittedJob> {
    this.specs.push(spec);
    if (this.refuse) throw this.refuse;
    return { jobId: String(this.nextId++), sessionDir: `/work/${spec.sessionId}`, seq: spec.seq };
  }

  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    const j = new FakeJob(job.jobId, listener, from);
    this.jobs.push(j);
    return j;
  }

  get job(): FakeJob {
    const j = this.jobs.at(-1);
    if (!j) throw new Error("no job followed yet");
    return j;
  }
}

export const PARENT: MessageHeader = {
  msg_id: "req-1",
  session: "client-session",
  username: "maya",
  date: "2026-11-25T14:00:00.000Z",
  msg_type: "execute_request",
  version: "5.3",
};

export function cellInfo(over: Partial<CellInfo> = {}): CellInfo {
  return {
    sessionId: "s1",
    notebookKey: "/home/maya/analysis.ipynb",
    seq: 1,
    executionCount: 1,
    detached: false,
    partition: "acpu",
    requested: { time: "1:00:00", mem: "8G" },
    origin: { parent: PARENT, clientId: "c1", allowStdin: true, displayId: "alpine-kernel-status-t" },
    ...over,
  };
}

export function cellSpec(over: Partial<CellJobSpec> = {}): CellJobSpec {
  return {
    sessionId: "s1",
    sessionDir: "/work/s1",
    notebook: "analysis.ipynb",
    workDir: "/home/maya",
    seq: 1,
    executionCount: 1,
    code: "x = 1\n",
    silent: false,
    storeHistory: true,
    allowStdin: true,
    detached: false,
    sbatch: [],
    ...over,
  };
}
