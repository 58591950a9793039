/**
 * Every question to Slurm's accounting goes through one batched `sacct`: the end states of jobs
 * that left the queue without an end marker (asked again while accounting lags the end of the job),
 * and `%sacct`'s one-off questions. Asks that arrive while a sacct runs go in the next one.
 */
import type { Transport } from "../../cluster/transport";
import type { FinalJobStatus, JobState } from "../scheduler";
import { outageWords } from "./outage";
import { SACCT_ARGS, parseSacct } from "./parse-sacct";

const ACTIVE: ReadonlySet<JobState> = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
]);
const BATCH_MS = 150;
const RETRIES_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** "final": until the job has an end state (with retries); "now": whatever sacct says once. */
type Ask =
  | {
      want: "final";
      attempt: number;
      resolve(f: FinalJobStatus | undefined): void;
      reject(err: unknown): void;
    }
  | { want: "now"; attempt: number; resolve(records: RecordMap): void; reject(err: unknown): void };
type RecordMap = Map<string, FinalJobStatus>;

/** The records of a job id: its own, and for an array every task's and pending range's (`27_3`, `27_[4-9]`). */
function recordsOf(found: RecordMap, jobId: string): RecordMap {
  const mine: RecordMap = new Map();
  for (const [id, f] of found) if (id === jobId || id.startsWith(`${jobId}_`)) mine.set(id, f);
  return mine;
}

export class SacctBatch {
  private readonly asks = new Map<string, Ask[]>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;

  /** Consecutive sacct failures (slurmdbd or the way to it down): final asks wait them out. */
  private failures = 0;

  constructor(
    private readonly transport: Transport,
    /** Told while sacct cannot answer, and (undefined) once it answers again. */
    private readonly onTrouble?: (message: string | undefined) => void,
  ) {}

  /** The job's end state from accounting; UNKNOWN (`unknown: true`) once accounting never told. */
  final(jobId: string): Promise<FinalJobStatus> {
    return new Promise<FinalJobStatus | undefined>((resolve, reject) =>
      this.ask(jobId, { want: "final", attempt: 0, resolve, reject }),
    ).then((f) => f ?? { jobId, state: "UNKNOWN", exitCode: 0, signal: 0, unknown: true });
  }

  /**
   * What accounting says now about these jobs (one sacct shared with other asks), by job id: for
   * an array's id, every record of it (its tasks, its pending ranges). Rejects when sacct fails.
   */
  async now(jobIds: readonly string[]): Promise<RecordMap> {
    const found = await Promise.all(
      jobIds.map(
        (id) =>
          new Promise<RecordMap>((resolve, reject) =>
            this.ask(id, { want: "now", attempt: 0, resolve, reject }),
          ),
      ),
    );
    return new Map(found.flatMap((records) => [...records]));
  }

  private ask(jobId: string, ask: Ask): void {
    const waiting = this.asks.get(jobId) ?? [];
    waiting.push(ask);
    this.asks.set(jobId, waiting);
    this.schedule(BATCH_MS);
  }

  private schedule(delay: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run(); // run() settles every ask itself, whatever sacct does
    }, delay);
  }

  private async run(): Promise<void> {
    // One sacct at a time (sacct can take seconds): jobs asked about meanwhile go in the next one.
    if (this.running) {
      this.again = true;
      return;
    }
    const ids = [...this.asks.keys()];
    if (!ids.length) return;
    let found = new Map<string, FinalJobStatus>();
    let failure: unknown;
    this.running = true;
    try {
      const { stdout } = await this.transport.run(["sacct", ...SACCT_ARGS, "--jobs", ids.join(",")], {
        timeoutMs: 60_000,
      });
      found = parseSacct(stdout);
    } catch (err) {
      failure = err; // final asks retry below; one-off asks hear about it
    } finally {
      this.running = false;
    }
    if (failure) {
      this.failures++;
      this.onTrouble?.(`accounting (sacct) not answering (${outageWords(failure)}), retrying`);
    } else if (this.failures) {
      this.failures = 0;
      this.onTrouble?.(undefined);
    }
    let retryIn = this.again ? BATCH_MS : 0;
    this.again = false;
    for (const id of ids) {
      const f = found.get(id);
      const waiting = this.asks.get(id) ?? [];
      const keep: Ask[] = [];
      for (const a of waiting) {
        if (a.want === "now") {
          if (failure) a.reject(failure);
          else a.resolve(recordsOf(found, id));
        } else if (f && !ACTIVE.has(f.state)) {
          a.resolve(f);
        } else if (failure) {
          // sacct did not answer: nothing is known, so nothing is decided; ask again, for as long as it takes.
          keep.push(a);
        } else if (a.attempt >= RETRIES_MS.length) {
          a.resolve({ jobId: id, state: f?.state ?? "UNKNOWN", exitCode: 0, signal: 0, unknown: true });
        } else {
          // The accounting record lags the end of the job by a moment: ask again.
          keep.push(a);
        }
      }
      if (keep.length) {
        const attempt = Math.max(...keep.map((a) => a.attempt));
        if (!failure) for (const a of keep) a.attempt++;
        const wait = failure
          ? RETRIES_MS[Math.min(this.failures - 1, RETRIES_MS.length - 1)]!
          : RETRIES_MS[attempt]!;
        retryIn = retryIn ? Math.min(retryIn, wait) : wait;
        this.asks.set(id, keep);
      } else {
        this.asks.delete(id);
      }
    }
    if (retryIn) this.schedule(retryIn);
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
