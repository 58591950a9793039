/**
 * An srun cell being followed: rank 0 is the cell (its output streams, its namespace is the
 * notebook's); once it has ended, the other ranks' ends are read from their files — at once when
 * they have all written their end marker, else when the job has left the queue. The cell is over
 * when every rank is; ranks that failed are reported with how they ended.
 */
import type { Transport } from "../../cluster/transport";
import { errorMessage } from "../../errors";
import type {
  CellOffsets,
  InputAnswer,
  JobHandle,
  JobListener,
  JobOutcome,
  PartEnd,
  PartsSummary,
  SingleOutcome,
} from "../backend";
import { JobFollower, type FollowOptions } from "../job-follower";
import type { Scheduler } from "../scheduler";
import { partPaths, rankCountPath, type CellPaths, type SessionFiles } from "../session-files";
import { partFailed, readPartEnd } from "../array/part-end";

export class SrunJob implements JobHandle {
  readonly done: Promise<JobOutcome>;
  private readonly rank0: JobFollower;

  constructor(
    private readonly transport: Transport,
    private readonly scheduler: Scheduler,
    private readonly files: SessionFiles,
    readonly jobId: string,
    private readonly paths: CellPaths,
    from: CellOffsets,
    private readonly listener: JobListener,
    followOptions: FollowOptions = {},
  ) {
    this.rank0 = new JobFollower(transport, scheduler, jobId, paths, from, listener, followOptions);
    this.done = this.rank0.done.then((first) => this.afterRank0(first));
  }

  get started(): boolean {
    return this.rank0.started;
  }

  answerInput(seq: number, answer: InputAnswer): Promise<void> {
    return this.files.writeInputAnswer(this.paths, seq, answer);
  }

  interrupt(): Promise<void> {
    return this.started ? this.scheduler.interrupt(this.jobId) : this.scheduler.cancel(this.jobId);
  }

  cancel(): Promise<void> {
    return this.scheduler.cancel(this.jobId);
  }

  /** How many tasks the job has (it writes SLURM_NTASKS before starting srun); 1 when unknown. */
  private async size(): Promise<number> {
    const buf = await this.transport.readFrom(rankCountPath(this.paths), 0, 64).catch(() => null);
    const n = Number(buf?.toString("utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : 1;
  }

  private async afterRank0(first: SingleOutcome): Promise<JobOutcome> {
    // The whole job died (time limit, cancel, node failure): the other ranks went with it.
    if (first.kind === "died") return first;
    const size = await this.size();
    if (size <= 1) return first;
    const ends = new Map<number, PartEnd>();
    // Usually every rank has finished with rank 0: one look at their files. Else the rest are read
    // once the job has left the queue (nothing polls their files meanwhile).
    await this.readRanks(size, ends, false);
    if (ends.size < size - 1) {
      this.listener.onParts?.(this.summary(size, first, [...ends.values()]));
      await new Promise<void>((resolve) => {
        const unwatch = this.scheduler.watch(
          this.jobId,
          () => {},
          () => {
            unwatch();
            resolve();
          },
        );
      });
      await this.readRanks(size, ends, true);
    }
    const others = [...ends.values()];
    if (!others.some(partFailed)) return first;
    return { kind: "parts", summary: this.summary(size, first, others) };
  }

  private async readRanks(size: number, ends: Map<number, PartEnd>, jobGone: boolean): Promise<void> {
    for (let r = 1; r < size; r++) {
      if (ends.has(r)) continue;
      const end = await this.readRank(r, jobGone);
      if (end) ends.set(r, end);
    }
  }

  /** A rank's end: from its end marker, or (once the job is gone) from accounting; undefined while it runs. */
  private async readRank(rank: number, jobGone: boolean): Promise<PartEnd | undefined> {
    const paths = partPaths(this.paths, "ranks", rank);
    const stillRunning = new Error("no end marker yet");
    for (let attempt = 0; ; attempt++) {
      try {
        return await readPartEnd(this.transport, paths, rank, this.jobId, (id) =>
          jobGone ? this.scheduler.final(id) : Promise.reject(stillRunning),
        );
      } catch (err) {
        if (err === stillRunning) return undefined;
        // A read that failed (connection lost): try again, lose nothing.
        this.listener.onTrouble(`reading the end of rank ${rank}: ${errorMessage(err)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** attempt)));
      }
    }
  }

  private summary(size: number, first: SingleOutcome, others: PartEnd[]): PartsSummary {
    const rank0: PartEnd = { index: 0, jobId: this.jobId, outcome: first };
    const ended = [rank0, ...others];
    const failed = ended.filter(partFailed).sort((a, b) => a.index - b.index);
    return {
      unit: "rank",
      jobId: this.jobId,
      total: size,
      pending: 0,
      running: size - ended.length,
      done: ended.length - failed.length,
      failed,
    };
  }
}
