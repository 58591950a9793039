/**
 * The real scheduler: `sbatch --parsable` to submit, the shared watcher for live states,
 * `scancel --signal=INT --full` for KeyboardInterrupt, and one batched `sacct` for accounting.
 */
import type { Transport } from "../../cluster/transport";
import { CommandError } from "../../cluster/transport";
import { AlpineKernelError } from "../../errors";
import { parseRunnerEvents } from "../runner-events";
import type { FinalJobStatus, Scheduler, StatusListener, SubmitControl, SubmitSpec } from "../scheduler";
import { SubmitCancelledError, backoffMs, isOutage, mayHaveQueued, outageWords } from "./outage";
import { SacctBatch } from "./sacct-batch";
import type { ClusterDiscovery } from "./discovery";
import { StartHints, type HintListener, type StartHintOptions } from "./start-hints";
import { SlurmWatcher, type WatcherOptions } from "./watcher";

/** sbatch refused the job: its own words, plus what to do. */
export class SubmitError extends AlpineKernelError {
  constructor(
    readonly sbatchMessage: string,
    hint: string,
  ) {
    super("SUBMIT_REFUSED", `sbatch refused the cell's job: ${sbatchMessage}${hint ? `\n${hint}` : ""}`);
  }
}

const HINTS: [RegExp, string][] = [
  [
    /Invalid account|account\/partition combination/i,
    "Check --account: `%slurm --account NAME` (Alpine requires one; `sacctmgr show assoc user=$USER` lists yours).",
  ],
  [/invalid partition/i, "Check --partition: `sinfo -s` lists the partitions."],
  [
    /time limit is invalid/i,
    "Lower --time to at most the partition's MaxTime (`scontrol show partition NAME`), or pick another partition/QoS.",
  ],
  // Before "node configuration": sbatch prints that line after this more precise one.
  [
    /Memory specification can not be satisfied/i,
    "Ask for less --mem (or use a high-memory partition such as amem).",
  ],
  [
    /node configuration is not available/i,
    "No node in that partition has what the cell asked for (GPUs, memory or CPUs): lower the request or pick another partition.",
  ],
  [/QOS|qos/, "Check --qos: `sacctmgr show assoc user=$USER format=account,qos` lists what you may use."],
];

export function submitHint(stderr: string): string {
  return HINTS.find(([re]) => re.test(stderr))?.[1] ?? "";
}

function parseJobId(stdout: string): string {
  const id = stdout.trim().split("\n").pop()?.split(";")[0]?.trim() ?? "";
  if (!/^\d+(_\d+)?$/.test(id))
    throw new SubmitError(`unexpected sbatch output ${JSON.stringify(stdout.trim())}`, "");
  return id;
}

/** How long after a "no such job" answer the lookup is asked again before submitting anew. */
const SETTLE_MS = 3000;

const cancelled = () =>
  new SubmitCancelledError(
    "the cell was withdrawn while the Slurm controller was not answering; nothing was submitted",
  );

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

function sbatchMessage(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.map((l) => l.replace(/^sbatch: error: /, "")).join("; ") || "no message";
}

export class SlurmScheduler implements Scheduler {
  readonly kind = "slurm" as const;
  readonly applies = "all" as const;
  readonly watcher: SlurmWatcher;
  private readonly sacct: SacctBatch;
  /** Start-time hints, when asked for (slurm.start_hints). */
  readonly hints: StartHints | undefined;

  constructor(
    private readonly transport: Transport,
    watcherOptions: WatcherOptions,
    hints?: { discovery: ClusterDiscovery; options: StartHintOptions },
  ) {
    this.watcher = new SlurmWatcher(transport, watcherOptions);
    this.sacct = new SacctBatch(transport, watcherOptions.onTrouble);
    this.hints = hints && new StartHints(transport, hints.discovery, this.watcher, hints.options);
  }

  startHints(jobId: string, scriptPath: string, onHint: HintListener): () => void {
    return this.hints ? this.hints.watch(jobId, scriptPath, onHint) : () => {};
  }

  /**
   * `sbatch --parsable`, riding out a controller that does not answer: retried with backoff and
   * jitter (`control.onWaiting` says so meanwhile) for as long as it takes, unless withdrawn. After
   * an attempt whose answer was lost (a timeout: the job may be queued all the same), the cell's
   * tag is looked up before every retry: a job is never submitted twice. "No such job" must be said
   * twice, SETTLE_MS apart: a lookup sent while the controller was frozen is answered on resume
   * before the held sbatch is carried out (measured on Slurm 22.05: the job is missing from every
   * squeue sent during the freeze and present in the first one sent after it).
   */
  async submit(spec: SubmitSpec, control: SubmitControl = {}): Promise<string> {
    let maybeQueued = false;
    for (let attempt = 0; ; attempt++) {
      let failure: unknown;
      try {
        if (maybeQueued) {
          const adopted = await this.findSubmitted(spec);
          if (adopted) return this.submitted(adopted, control);
          await sleep(SETTLE_MS, control.signal);
          const late = await this.findSubmitted(spec);
          if (late) return this.submitted(late, control);
          maybeQueued = false; // Slurm answered twice: no such job, so a new sbatch cannot make two
        }
        if (control.signal?.aborted) throw cancelled();
        const { stdout } = await this.transport.run(["sbatch", "--parsable", spec.scriptPath], {
          timeoutMs: 120_000,
        });
        return this.submitted(parseJobId(stdout), control);
      } catch (err) {
        if (err instanceof SubmitCancelledError) throw err;
        if (!isOutage(err)) {
          if (err instanceof CommandError && err.exitCode !== 127 && err.argv[0] === "sbatch")
            throw new SubmitError(sbatchMessage(err.stderr || err.stdout), submitHint(err.stderr));
          throw err;
        }
        failure = err;
        if (err instanceof CommandError && err.argv[0] === "sbatch") maybeQueued ||= mayHaveQueued(err);
        else if (!(err instanceof CommandError)) maybeQueued = true; // the connection dropped mid-sbatch
      }
      // Withdrawn: stop now, unless a job may exist; then only look for it until Slurm answers.
      if (control.signal?.aborted && !maybeQueued) throw cancelled();
      const wait = backoffMs(attempt);
      control.onWaiting?.(
        `the Slurm controller is not answering (${outageWords(failure)}); ${maybeQueued ? "looking for the job and " : ""}submitting again in ${Math.round(wait / 1000)} s (attempt ${attempt + 2})`,
      );
      await sleep(wait, control.signal);
    }
  }

  private submitted(id: string, control: SubmitControl): string {
    control.onWaiting?.(undefined);
    this.watcher.hurry();
    return id;
  }

  /** The job of a submission whose answer was lost: in the queue by its tag (also if it ended since), or started (its events name it). */
  private async findSubmitted(spec: SubmitSpec): Promise<string | undefined> {
    const events = await this.transport.readFrom(spec.eventsPath, 0, 64 * 1024).catch(() => null);
    const started = events
      ? parseRunnerEvents(events.toString("utf8")).events.find((e) => e.type === "start")
      : undefined;
    if (started?.type === "start" && started.job_id) return started.job_id;
    const { stdout } = await this.transport.run(
      ["squeue", "--noheader", "--states=all", "--user", this.transport.user, "--format=%i|%k"],
      { timeoutMs: 60_000 },
    );
    for (const line of stdout.split("\n")) {
      const [id, comment] = line.trim().split("|");
      if (id && comment === spec.tag) return id;
    }
    return undefined;
  }

  watch(jobId: string, onStatus: StatusListener, onGone: () => void): () => void {
    return this.watcher.watch(jobId, onStatus, onGone);
  }

  /** SIGINT reaches a Python started by the batch script only with --full (see DESIGN.md). */
  async interrupt(jobId: string): Promise<void> {
    await this.scancel(["--signal=INT", "--full", jobId]);
  }

  /** An array's tasks still pending are cancelled (its running ones go on). */
  async cancelPending(jobId: string): Promise<void> {
    await this.scancel(["--state=PENDING", jobId]);
    this.watcher.hurry();
  }

  async cancel(jobId: string): Promise<void> {
    await this.scancel([jobId]);
    this.watcher.hurry();
  }

  private async scancel(args: string[]): Promise<void> {
    try {
      await this.transport.run(["scancel", ...args], { timeoutMs: 60_000 });
    } catch (err) {
      // Already gone is fine; anything else the user must hear about.
      if (err instanceof CommandError && /Invalid job id|already completing or completed/i.test(err.stderr))
        return;
      throw err;
    }
  }

  /** The end state from accounting (batched with every other accounting question). */
  final(jobId: string): Promise<FinalJobStatus> {
    return this.sacct.final(jobId);
  }

  accounting(jobIds: readonly string[]): Promise<Map<string, FinalJobStatus>> {
    return this.sacct.now(jobIds);
  }

  async close(): Promise<void> {
    this.hints?.close();
    this.watcher.close();
    this.sacct.close();
  }
}
