/**
 * The embedded default backend: each cell's job script runs with bash on this machine, no scheduler.
 * Job ids are `local-<pid>`. A job whose process outlives a server restart is still followed (by
 * pid); its exit status is then unknown, and the end marker tells whether the cell finished.
 */
import { hostname } from "node:os";
import type { LocalTransport } from "../../cluster/local-transport";
import { ClusterError } from "../../errors";
import { processAlive } from "../../process-alive";
import { formatDuration } from "../slurm/slurm-time";
import type { FinalJobStatus, JobStatus, Scheduler, StatusListener, SubmitSpec } from "../scheduler";

interface LocalJob {
  pid: number;
  /** Ended by its --time limit. */
  timedOut?: boolean;
  started: number;
  final?: FinalJobStatus;
  gone: Promise<void>;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSEGV: 11,
  SIGABRT: 6,
};
const KILL_WAIT_MS = 5000;

export function localJobId(pid: number): string {
  return `local-${pid}`;
}

function pidOf(jobId: string): number {
  const m = /^local-(\d+)$/.exec(jobId);
  if (!m) throw new ClusterError("BAD_JOB_ID", `not a local job id: ${jobId}`);
  return Number(m[1]);
}

function elapsedSince(start: number): string {
  const s = Math.floor((Date.now() - start) / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

export class LocalScheduler implements Scheduler {
  readonly kind = "local" as const;
  /** No Slurm here: of a cell's sbatch options only --time is applied, as a time limit. */
  readonly applies: ReadonlySet<string> = new Set(["--time"]);
  private readonly jobs = new Map<string, LocalJob>();
  private readonly hostname = hostname();

  constructor(private readonly transport: LocalTransport) {}

  async submit(spec: SubmitSpec): Promise<string> {
    const argv = spec.loginShell ? ["bash", "-l", spec.scriptPath] : ["bash", spec.scriptPath];
    const proc = this.transport.startDetached(argv, {
      stdout: spec.stdoutPath,
      stderr: spec.stderrPath,
      cwd: spec.workDir,
    });
    const jobId = localJobId(proc.pid);
    const job: LocalJob = { pid: proc.pid, started: Date.now(), gone: Promise.resolve() };
    const limit = spec.timeLimitSeconds;
    job.gone = proc.exited.then(({ code, signal }) => {
      const sig = signal ? (SIGNALS[signal] ?? 0) : 0;
      const state = job.timedOut
        ? "TIMEOUT"
        : sig === SIGNALS.SIGTERM || sig === SIGNALS.SIGKILL
          ? "CANCELLED"
          : code === 0 && !sig
            ? "COMPLETED"
            : "FAILED";
      job.final = {
        jobId,
        state,
        exitCode: code ?? 0,
        signal: sig,
        elapsed: elapsedSince(job.started),
        node: this.hostname,
        ...(limit ? { timeLimit: formatDuration(limit) } : {}),
      };
    });
    this.jobs.set(jobId, job);
    if (limit) this.limitTime(jobId, job, limit);
    return jobId;
  }

  /** --time as Slurm applies it: the job is ended (TERM, then KILL) when its time is up. */
  private limitTime(jobId: string, job: LocalJob, seconds: number): void {
    const timer = setTimeout(() => {
      job.timedOut = true;
      this.cancel(jobId).catch(() => {}); // a job that ended meanwhile has nothing left to end
    }, seconds * 1000);
    timer.unref();
    void job.gone.then(() => clearTimeout(timer)); // gone never rejects
  }

  /** A job this process did not start (server restarted): followed by polling its pid. */
  private adopt(jobId: string): LocalJob {
    let job = this.jobs.get(jobId);
    if (job) return job;
    const pid = pidOf(jobId);
    const started = Date.now();
    job = {
      pid,
      started,
      gone: new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (processAlive(pid)) return;
          clearInterval(timer);
          job!.final = {
            jobId,
            state: "UNKNOWN",
            exitCode: 0,
            signal: 0,
            unknown: true,
            node: this.hostname,
          };
          resolve();
        }, 250);
      }),
    };
    this.jobs.set(jobId, job);
    return job;
  }

  watch(jobId: string, onStatus: StatusListener, onGone: () => void): () => void {
    const job = this.adopt(jobId);
    let stopped = false;
    const status = (): JobStatus => ({
      jobId,
      state: "RUNNING",
      node: this.hostname,
      elapsed: elapsedSince(job.started),
    });
    onStatus(status());
    void job.gone.then(() => {
      if (!stopped) onGone();
    });
    return () => {
      stopped = true;
    };
  }

  async interrupt(jobId: string): Promise<void> {
    this.signal(jobId, "SIGINT");
  }

  async cancel(jobId: string): Promise<void> {
    const job = this.adopt(jobId);
    this.signal(jobId, "SIGTERM", true);
    const timer = setTimeout(() => this.signal(jobId, "SIGKILL", true), KILL_WAIT_MS);
    await job.gone;
    clearTimeout(timer);
  }

  private signal(jobId: string, sig: NodeJS.Signals, group = false): void {
    const pid = this.adopt(jobId).pid;
    try {
      process.kill(group ? -pid : pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }

  async final(jobId: string): Promise<FinalJobStatus> {
    const job = this.adopt(jobId);
    await job.gone;
    return job.final!;
  }

  /** No accounting on this machine: the cell book's own records are all there is. */
  async accounting(): Promise<Map<string, FinalJobStatus>> {
    return new Map();
  }

  async close(): Promise<void> {}
}
