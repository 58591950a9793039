/**
 * The per-cell job: each cell becomes a job script (rendered by `renderJobScript`) that a
 * `Scheduler` runs — sbatch on Slurm, bash on this machine — and is followed through its files.
 */
import type { Transport } from "../cluster/transport";
import type {
  CellJobSpec,
  CellOffsets,
  ExecutionBackend,
  InputAnswer,
  JobHandle,
  JobListener,
  SubmittedJob,
} from "./backend";
import { JobFollower, type DirWatcher, type FollowOptions } from "./job-follower";
import { renderJobScript, type EnvironmentSetup, type SbatchPair } from "./job-script";
import { parseTimeOption } from "./slurm/slurm-time";
import { outputLimitOf, runnerOnFirstUse } from "./runner-install";
import type { Scheduler, SubmitControl } from "./scheduler";
import { cellPaths, namespacePath, snapshotPath, type CellPaths, type SessionFiles } from "./session-files";

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

/** The cell's --time in seconds (undefined: none, or unlimited). Values were checked when the cell was planned. */
function timeLimitOf(sbatch: readonly SbatchPair[]): number | undefined {
  const time = sbatch.find(([k]) => k === "--time")?.[1];
  return time === undefined ? undefined : (parseTimeOption(time) ?? undefined);
}

/** The runner's command line (docs/cell-runner.md): an attached cell reads and writes the session's
 * store; a detached one only reads its snapshot. */
function runnerArgs(spec: CellJobSpec, paths: CellPaths, namespaceIn: string): string[] {
  const args = [
    "--code",
    paths.code,
    "--events",
    paths.events,
    "--execution-count",
    String(spec.executionCount),
  ];
  args.push("--namespace-in", namespaceIn);
  if (!spec.detached) args.push("--namespace-out", namespaceIn);
  if (spec.allowStdin && !spec.detached) args.push("--allow-stdin");
  if (spec.silent) args.push("--silent");
  if (!spec.storeHistory) args.push("--no-store-history");
  return args;
}

class BatchJob implements JobHandle {
  readonly done;
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
    detached: boolean,
    options: FollowOptions,
  ) {
    this.follower = new JobFollower(transport, scheduler, jobId, paths, from, listener, options);
    // An answer the runner never read (the job died waiting) may hold a password: never leave it.
    this.done = this.follower.done.finally(() => this.removeAnswers());
    // A detached cell's snapshot is garbage once it has ended, however it ended. Failing to remove
    // it loses nothing: the session's restart or shutdown removes the rest of its directory's
    // namespace, and the snapshot is only disk space.
    if (detached) {
      const removeSnapshot = () => files.removeSnapshot(paths).catch(() => undefined);
      void this.done.then(removeSnapshot, removeSnapshot);
    }
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

  async submit(spec: CellJobSpec, control?: SubmitControl): Promise<SubmittedJob> {
    const [dir, workDir] = await Promise.all([
      this.files.resolve(spec.sessionDir),
      this.files.prepareDir(spec.workDir),
    ]);
    const paths = cellPaths(dir, spec.seq);
    let namespaceIn = namespacePath(dir);
    if (spec.detached) {
      // The namespace as of submission: later cells may change the store before this job starts.
      await this.files.snapshotNamespace(dir, paths);
      namespaceIn = snapshotPath(paths);
    }
    const environment = spec.environment ?? this.options.environment;
    const tag = submitTag(spec.sessionId, spec.seq);
    const script = renderJobScript({
      jobName: jobName(spec.notebook, spec.executionCount, spec.seq),
      sbatch: [...spec.sbatch, ["--comment", tag]],
      stdoutPath: paths.stdout,
      stderrPath: paths.stderr,
      workDir,
      environment,
      runnerPath: await this.runnerPath(),
      runnerArgs: runnerArgs(spec, paths, namespaceIn),
      description: `alpine-kernel cell ${spec.executionCount} of ${spec.notebook} (kernel ${spec.sessionId})`,
      umask: this.options.umask,
    });
    await this.transport.writeFile(paths.code, spec.code, 0o600);
    await this.transport.writeFile(paths.script, script, 0o600);
    const jobId = await this.scheduler.submit(
      {
        scriptPath: paths.script,
        stdoutPath: paths.stdout,
        stderrPath: paths.stderr,
        eventsPath: paths.events,
        workDir,
        loginShell: environment.modules.length > 0,
        tag,
        timeLimitSeconds: timeLimitOf(spec.sbatch),
      },
      control,
    );
    return { jobId, sessionDir: dir, seq: spec.seq, workDir, ...(spec.detached ? { detached: true } : {}) };
  }

  follow(job: SubmittedJob, from: CellOffsets, listener: JobListener): JobHandle {
    const paths = cellPaths(job.sessionDir, job.seq);
    return new BatchJob(
      this.scheduler,
      this.files,
      this.transport,
      job.jobId,
      paths,
      from,
      listener,
      job.detached === true,
      {
        watchDir: this.options.watchDir,
        outputLimit: outputLimitOf(this.options.outputLimitBytes, this.runnerPath),
      },
    );
  }
}
