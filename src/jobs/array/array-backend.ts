/**
 * Array cells (`%%slurm --array 0-99%10`) on Slurm: submitted like any cell by the backend it
 * wraps (one job script, `#SBATCH --array`, each task's files by its index), followed as a whole
 * by an `ArrayJob`. Every other cell goes to the wrapped backend untouched.
 */
import type { Transport } from "../../cluster/transport";
import { InputError } from "../../errors";
import type {
  CellJobSpec,
  CellOffsets,
  ExecutionBackend,
  JobHandle,
  JobListener,
  SubmittedJob,
} from "../backend";
import type { FollowOptions } from "../job-follower";
import type { SbatchPair } from "../job-script";
import type { SubmitControl } from "../scheduler";
import type { SlurmScheduler } from "../slurm/slurm-scheduler";
import { ArrayJob } from "./array-job";

export class ArrayBackend implements ExecutionBackend {
  constructor(
    private readonly inner: ExecutionBackend,
    private readonly transport: Transport,
    private readonly scheduler: SlurmScheduler,
    private readonly followOptions: FollowOptions = {},
  ) {}

  ignoredOptions(sbatch: readonly SbatchPair[]): SbatchPair[] {
    return this.inner.ignoredOptions(sbatch);
  }

  async submit(spec: CellJobSpec, control?: SubmitControl): Promise<SubmittedJob> {
    if (spec.array && spec.mode === "srun")
      throw new InputError("BAD_MAGIC", "an array cell cannot also be an %%srun cell: use one or the other");
    return this.inner.submit(spec, control);
  }

  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    if (!job.array) return this.inner.follow(job, from, listener);
    return new ArrayJob(
      this.transport,
      this.scheduler,
      { ...job, array: job.array },
      from,
      listener,
      this.followOptions,
    );
  }
}
