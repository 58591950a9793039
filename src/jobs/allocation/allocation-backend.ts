/**
 * The execution backend of cells that run inside a held allocation: `submit` hands the cell to the
 * allocation's daemon (its code in the cell's usual file, a request in the allocation's requests/),
 * `follow` is a `JobFollower` over the cell's usual files whose liveness is the daemon's word and
 * the holder job's. Interrupt raises KeyboardInterrupt in the cell; cancel ends the cell, not the
 * allocation (its Python restarts when the cell does not stop).
 */
import type { Transport } from "../../cluster/transport";
import { AlpineKernelError } from "../../errors";
import type {
  CellJobSpec,
  CellOffsets,
  ExecutionBackend,
  InputAnswer,
  JobHandle,
  JobListener,
  JobOutcome,
  SubmittedJob,
} from "../backend";
import { JobFollower, type FollowOptions } from "../job-follower";
import type { SbatchPair } from "../job-script";
import { cellPaths, type SessionFiles } from "../session-files";
import type { Allocation } from "./allocation";
import { cellJobId } from "./allocation-paths";
import { describeCellDeath } from "./cell-death";
import { cellLiveness } from "./cell-liveness";

/** The allocation a job id names (live or ended), as the manager knows it. */
export interface AllocationLookup {
  byJobId(jobId: string): Allocation | undefined;
  readonly afterEnd: "per-cell" | "reallocate";
}

/** A cell that does not stop this long after its second interrupt takes the Python with it. */
const CANCEL_GRACE_SECONDS = 10;

class AllocationCell implements JobHandle {
  readonly done: Promise<JobOutcome>;
  private readonly follower: JobFollower;

  constructor(
    private readonly a: Allocation,
    private readonly files: SessionFiles,
    private readonly seq: number,
    readonly jobId: string,
    transport: Transport,
    from: CellOffsets,
    listener: JobListener,
    afterEnd: "per-cell" | "reallocate",
    options: FollowOptions,
  ) {
    const paths = cellPaths(a.info.sessionDir, seq);
    this.follower = new JobFollower(transport, cellLiveness(a, seq), jobId, paths, from, listener, options);
    this.done = this.follower.done.then((o) =>
      o.kind === "died"
        ? {
            ...o,
            failure: describeCellDeath(a, seq, { started: o.started, stderrTail: o.stderrTail, afterEnd }),
          }
        : o,
    );
  }

  get started(): boolean {
    return this.follower.started;
  }

  answerInput(seq: number, answer: InputAnswer): Promise<void> {
    return this.files.writeInputAnswer(cellPaths(this.a.info.sessionDir, this.seq), seq, answer);
  }

  /** KeyboardInterrupt in the cell; a cell that has not started yet is withdrawn. */
  interrupt(): Promise<void> {
    return this.a.interruptCell(this.seq);
  }

  cancel(): Promise<void> {
    return this.a.cancelCell(this.seq, CANCEL_GRACE_SECONDS);
  }
}

export class AllocationBackend implements ExecutionBackend {
  constructor(
    private readonly transport: Transport,
    private readonly files: SessionFiles,
    private readonly allocations: AllocationLookup,
    /** How cells are followed: the same directory watch and output limit as per-cell jobs. */
    private readonly followOptions: FollowOptions = {},
  ) {}

  /** Inside an allocation a cell's options are checked against it before it is sent here. */
  ignoredOptions(_sbatch: readonly SbatchPair[]): SbatchPair[] {
    return [];
  }

  async submit(spec: CellJobSpec): Promise<SubmittedJob> {
    const a = spec.allocation ? this.allocations.byJobId(spec.allocation) : undefined;
    if (!a?.live)
      throw new AlpineKernelError(
        "ALLOCATION_GONE",
        `allocation ${spec.allocation ?? "?"} has ended; run the cell again (it will run as its own job)`,
      );
    const paths = cellPaths(a.info.sessionDir, spec.seq);
    await this.transport.writeFile(paths.code, spec.code, 0o600);
    await a.runCell({
      kind: "cell",
      seq: spec.seq,
      code: paths.code,
      events: paths.events,
      stdout: paths.stdout,
      stderr: paths.stderr,
      execution_count: spec.executionCount,
      silent: spec.silent,
      store_history: spec.storeHistory,
      allow_stdin: spec.allowStdin && !spec.detached,
    });
    return {
      jobId: cellJobId(a.jobId, spec.seq),
      sessionDir: a.info.sessionDir,
      seq: spec.seq,
      workDir: a.info.workDir,
      via: "allocation",
      allocation: a.jobId,
    };
  }

  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    const a = job.allocation ? this.allocations.byJobId(job.allocation) : undefined;
    if (!a) return lostCell(job);
    return new AllocationCell(
      a,
      this.files,
      job.seq,
      job.jobId,
      this.transport,
      from,
      listener,
      this.allocations.afterEnd,
      this.followOptions,
    );
  }
}

/** A cell whose allocation this server no longer knows (its record was purged): it cannot be followed. */
function lostCell(job: SubmittedJob): JobHandle {
  const final = { jobId: job.jobId, state: "UNKNOWN" as const, exitCode: 0, signal: 0, unknown: true };
  return {
    jobId: job.jobId,
    started: false,
    done: Promise.resolve({ kind: "died", final, started: false, stderrTail: "" }),
    answerInput: async () => {},
    interrupt: async () => {},
    cancel: async () => {},
  };
}
