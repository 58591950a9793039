/**
 * The execution backend the session sees: each cell goes to the backend that runs it — inside the
 * notebook's held allocation when the session decided it fits (`spec.allocation`), else as a job
 * of its own (`BatchBackend`). A submitted cell says which (`via`, kept in its record), so that it
 * is followed through the same backend after a server restart.
 */
import type {
  CellJobSpec,
  CellOffsets,
  ExecutionBackend,
  JobHandle,
  JobListener,
  SubmittedJob,
} from "./backend";
import type { SbatchPair } from "./job-script";
import type { SubmitControl } from "./scheduler";

export class BackendRouter implements ExecutionBackend {
  constructor(
    private readonly jobs: ExecutionBackend,
    private readonly allocation: ExecutionBackend,
  ) {}

  ignoredOptions(sbatch: readonly SbatchPair[]): SbatchPair[] {
    return this.jobs.ignoredOptions(sbatch);
  }

  /** `control` (Slurm outage waits) is for jobs of their own: the allocation's cells are not sbatch'ed. */
  submit(spec: CellJobSpec, control?: SubmitControl): Promise<SubmittedJob> {
    return spec.allocation ? this.allocation.submit(spec) : this.jobs.submit(spec, control);
  }

  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    return job.via === "allocation"
      ? this.allocation.follow(job, from, listener)
      : this.jobs.follow(job, from, listener);
  }
}
