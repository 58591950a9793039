/**
 * The per-cell job: each cell becomes a job script (rendered by `renderJobScript`) that a
 * `Scheduler` runs — sbatch on Slurm, bash on this machine — and is followed through its files.
 */
import type { Transport } from "../cluster/transport";
import { InputError } from "../errors";
import { settleScriptOutcome } from "./array/part-end";
import type {
  CellJobSpec,
  CellOffsets,
  ExecutionBackend,
  InputAnswer,
  JobHandle,
  JobListener,
  JobOutcome,
  SubmittedJob,
} from "./backend";
import { cellScript } from "./cell-scripts";
import { JobFollower, type DirWatcher, type FollowOptions } from "./job-follower";
import type { EnvironmentSetup, SbatchPair } from "./job-script";
import { parseTimeOption } from "./slurm/slurm-time";
import { outputLimitOf, runnerOnFirstUse } from "./runner-install";
import type { Scheduler, SubmitControl } from "./scheduler";
import { cellPaths, namespacePath, snapshotPath, type CellPaths, type SessionFiles } from "./session-files";
import { SrunJob } from "./srun/srun-job";

export interface BatchBackendOptions {
  /** The cells' environment (modules, conda env, setup lines, python) unless a cell names its own. */
  environment: EnvironmentSetup;
  /** The configured work directory (the runner is installed under it). */
  workDir: string;
  /** The umask cells run with (environment.umask). */
  umask: string;
  watchDir?: DirWatcher;
  /** Bytes of a cell's output sent to the notebook (0: all of it); the rest stays in its files. */
  outputLimitBytes?: number;
}

/** Job names show in squeue: keep them short and shell-safe. */
export function jobName(notebook: string, executionCount: number, seq: number): string {
  const base =
    notebook
      .replace(/\.ipynb$/, "")
      .replace(/[^A-Za-z0-9_.-]+/g, "_")
      .slice(0, 40) || "notebook";
  return `ak-${base}-c${executionCount || `s${seq}`}`;
}

/** The mark a cell's job carries (#SBATCH --comment) so it can be found again: alpine-kernel:<kernel>/<cell>. */
export function submitTag(sessionId: string, seq: number): string {
  return `alpine-kernel:${sessionId}/${seq}`;
}

/** What the job script's comment calls the cell. */
function describeCell(spec: CellJobSpec): string {
  const what = spec.mode === "bash" ? "%%bash cell" : spec.mode === "srun" ? "%%srun cell" : "cell";
  return spec.array ? `array ${what}` : what;
}

/** The cell's --time in seconds (undefined: none, or unlimited). Values were checked when the cell was planned. */
function timeLimitOf(sbatch: readonly SbatchPair[]): number | undefined {
  const time = sbatch.find(([k]) => k === "--time")?.[1];
  return time === undefined ? undefined : (parseTimeOption(time) ?? undefined);
}

class BatchJob implements JobHandle {
  readonly done: Promise<JobOutcome>;
  private readonly follower: JobFollower;
  /** Input answers written and maybe not yet read (and deleted) by the runner. */
  private readonly answers = new Set<number>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly files: SessionFiles,
    transport: Transport,
    readonly jobId: string,
    private readonly paths: CellPaths,
    from: CellOffsets,
    listener: JobListener,
    bash: boolean,
    options: FollowOptions,
  ) {
    this.follower = new JobFollower(transport, scheduler, jobId, paths, from, listener, options);
    // An answer the runner never read (the job died waiting) may hold a password: never leave it.
    const done = this.follower.done.finally(() => this.removeAnswers());
    this.done = bash ? done.then(settleScriptOutcome) : done;
    const stopHints = scheduler.startHints?.(jobId, paths.script, (hint) => listener.onHint?.(hint));
    if (stopHints) void this.done.finally(stopHints).catch(() => {}); // the cell reports a failed follow
  }

  private async removeAnswers(): Promise<void> {
    for (const seq of this.answers) await this.files.removeInputAnswer(this.paths, seq).catch(() => {});
    this.answers.clear();
  }

  get started(): boolean {
    return this.follower.started;
  }

  answerInput(seq: number, answer: InputAnswer): Promise<void> {
    this.answers.add(seq);
    return this.files.writeInputAnswer(this.paths, seq, answer);
  }

  /**
   * Once the runner has started, SIGINT (KeyboardInterrupt in the cell); before that (queued, or
   * still setting up its environment) there is no Python code to interrupt: the job is cancelled.
   */
  interrupt(): Promise<void> {
    return this.started ? this.scheduler.interrupt(this.jobId) : this.scheduler.cancel(this.jobId);
  }

  cancel(): Promise<void> {
    return this.scheduler.cancel(this.jobId);
  }
}

export class BatchBackend implements ExecutionBackend {
  /** The runner's path on the cluster, installed on first use. */
  private readonly runnerPath: () => Promise<string>;

  constructor(
    private readonly transport: Transport,
    private readonly scheduler: Scheduler,
    private readonly files: SessionFiles,
    private readonly options: BatchBackendOptions,
  ) {
    this.runnerPath = runnerOnFirstUse(transport, options.workDir);
  }

  /** What the scheduler would not apply; the kernel's own --job-name and --comment are not the user's. */
  ignoredOptions(sbatch: readonly SbatchPair[]): SbatchPair[] {
    const applies = this.scheduler.applies;
    if (applies === "all") return [];
    return sbatch.filter(([k]) => !applies.has(k) && k !== "--job-name" && k !== "--comment");
  }

  /** How its jobs are followed: the directory watcher, and the output sent to the notebook. */
  followOptions(): FollowOptions {
    return {
      watchDir: this.options.watchDir,
      outputLimit: outputLimitOf(this.options.outputLimitBytes, this.runnerPath),
    };
  }

  async submit(spec: CellJobSpec, control?: SubmitControl): Promise<SubmittedJob> {
    if (this.scheduler.kind !== "slurm" && (spec.array || spec.mode === "srun"))
      throw new InputError(
        "BAD_MAGIC",
        `${spec.array ? "--array" : "%%srun"} needs Slurm: on the local backend cells run one at a time on this machine (set backend: slurm)`,
      );
    const [dir, workDir] = await Promise.all([
      this.files.resolve(spec.sessionDir),
      this.files.prepareDir(spec.workDir),
    ]);
    const paths = cellPaths(dir, spec.seq);
    const store = namespacePath(dir);
    // The namespace as of submission, for what must not see later cells' changes: a detached
    // cell, an array's tasks (each starts its own store from it; a rerun from its first run's) and
    // an srun cell's other ranks (rank 0 writes the store while they read).
    const from =
      spec.mode === "bash"
        ? undefined
        : (spec.array?.namespaceFrom ??
          (spec.detached || spec.array || spec.mode === "srun" ? store : undefined));
    if (from) await this.files.snapshotNamespace(from, paths);
    const environment = spec.environment ?? this.options.environment;
    const tag = submitTag(spec.sessionId, spec.seq);
    const planned = cellScript(spec, {
      paths,
      workDir,
      runnerPath: spec.mode === "bash" ? "" : await this.runnerPath(),
      environment,
      namespaceIn: spec.detached ? snapshotPath(paths) : store,
      namespaceOut: spec.detached ? undefined : store,
      snapshot: snapshotPath(paths),
      header: {
        jobName: jobName(spec.notebook, spec.executionCount, spec.seq),
        sbatch: [...spec.sbatch, ["--comment", tag]],
        stdoutPath: paths.stdout,
        stderrPath: paths.stderr,
        description: `alpine-kernel ${describeCell(spec)} ${spec.executionCount} of ${spec.notebook} (kernel ${spec.sessionId})`,
        umask: this.options.umask,
      },
    });
    for (const d of planned.dirs) await this.transport.mkdir(d);
    for (const f of planned.files) await this.transport.writeFile(f.path, f.data, 0o600);
    await this.transport.writeFile(paths.code, spec.code, 0o600);
    await this.transport.writeFile(paths.script, planned.script, 0o600);
    const jobId = await this.scheduler.submit(
      {
        scriptPath: paths.script,
        stdoutPath: paths.stdout,
        stderrPath: paths.stderr,
        eventsPath: paths.events,
        workDir,
        loginShell: spec.mode === "bash" || environment.modules.length > 0,
        tag,
        timeLimitSeconds: timeLimitOf(spec.sbatch),
      },
      control,
    );
    const job: SubmittedJob = { jobId, sessionDir: dir, seq: spec.seq, workDir };
    if (spec.detached) job.detached = true;
    if (spec.mode && spec.mode !== "python") job.mode = spec.mode;
    if (spec.array) job.array = { ...spec.array, sbatch: [...spec.sbatch] };
    return job;
  }

  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    const handle = this.handle(job, from, listener);
    // A snapshot only the job reads is garbage once it has ended, however it ended (an array
    // keeps its own: a rerun starts from it). Failing to remove it loses nothing: the session's
    // restart or shutdown removes the rest of its directory's namespace, and it is only disk space.
    if ((job.detached || job.mode === "srun") && !job.array) {
      const paths = cellPaths(job.sessionDir, job.seq);
      const removeSnapshot = () => this.files.removeSnapshot(paths).catch(() => undefined);
      void handle.done.then(removeSnapshot, removeSnapshot);
    }
    return handle;
  }

  private handle(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    const paths = cellPaths(job.sessionDir, job.seq);
    const followOptions = this.followOptions();
    if (job.mode === "srun")
      return new SrunJob(
        this.transport,
        this.scheduler,
        this.files,
        job.jobId,
        paths,
        from,
        listener,
        followOptions,
      );
    return new BatchJob(
      this.scheduler,
      this.files,
      this.transport,
      job.jobId,
      paths,
      from,
      listener,
      job.mode === "bash",
      followOptions,
    );
  }
}
