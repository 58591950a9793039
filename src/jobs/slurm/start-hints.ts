/**
 * Start-time hints: while a cell waits on Priority or Resources, ask Slurm (`sbatch --test-only`)
 * whether a different request — a shorter --time, another partition, fewer CPUs, less memory —
 * would start sooner, and say which. One engine for every cell of every kernel: the questions of
 * all waiting cells go out together in one command per tick, identical requests are asked once,
 * and a token bucket holds the extra Slurm calls to `callsPerMinute` in total.
 */
import type { Transport } from "../../cluster/transport";
import { errorMessage } from "../../errors";
import type { JobStatus } from "../scheduler";
import type { ClusterDiscovery } from "./discovery";
import { hintCandidates, scriptOptions, type HintCandidate } from "./hint-candidates";
import { runTestOnly, type TestOnlyAnswer } from "./test-only";
import type { SlurmWatcher } from "./watcher";

/** What the status line and the cell's record show: "`-c 2` would start now on acpu". */
export interface StartHint {
  /** The options to change, as a user writes them in %%slurm. */
  options: string;
  partition: string;
  /** When Slurm would start it (its own clock, ISO without zone). */
  startsAt: string;
  /** It would start within a minute. */
  now: boolean;
  text: string;
  /** When Slurm was asked (ISO). */
  checkedAt: string;
}

export type HintListener = (hint: StartHint | undefined) => void;

export interface StartHintOptions {
  /** Extra Slurm calls (each `sbatch --test-only`) per minute, for all cells together. */
  callsPerMinute: number;
  /** A cell waits this long on Priority/Resources before it is asked about. */
  afterMs: number;
  /** A hint is asked again this often while the cell still waits. */
  refreshMs: number;
  log?: (message: string) => void;
}

/** Pending reasons a different request can help with. */
const HINT_REASONS = /^(Priority|Resources|ReqNodeNotAvail)/;
const TICK_MS = 5000;
const NOW_SLACK_MS = 60_000;
/** A later start than the cell's own estimate by less than this is no hint. */
const WORTH_MS = 15 * 60_000;

interface Subject {
  jobId: string;
  scriptPath: string;
  listeners: Set<HintListener>;
  status?: JobStatus;
  waitingSince?: number;
  /** Requests still to ask about in this round, and the best answer so far. */
  queue?: HintCandidate[];
  best?: StartHint;
  shown?: StartHint;
  nextRound: number;
  options?: Promise<Map<string, string>>;
  unwatch: () => void;
}

/** `2026-12-01T15:56:48` (Slurm prints the cluster's local time without a zone) → ms. */
function slurmTime(text: string | undefined): number | undefined {
  if (!text || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

export function hintText(h: Pick<StartHint, "options" | "partition" | "startsAt" | "now">): string {
  const when = h.now ? "now" : `at ${h.startsAt.slice(11, 16)}`;
  return `\`${h.options}\` would start ${when} on ${h.partition}`;
}

export class StartHints {
  private readonly subjects = new Map<string, Subject>();
  private tokens: number;
  private refilled = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** sbatch --test-only calls so far (each is one question to slurmctld). */
  calls = 0;

  constructor(
    private readonly transport: Transport,
    private readonly discovery: ClusterDiscovery,
    private readonly watcher: SlurmWatcher,
    private readonly opts: StartHintOptions,
  ) {
    this.tokens = opts.callsPerMinute;
  }

  /** Hints for a job while it waits; `onHint(undefined)` when a hint no longer holds. */
  watch(jobId: string, scriptPath: string, onHint: HintListener): () => void {
    let s = this.subjects.get(jobId);
    if (!s) {
      const subject: Subject = {
        jobId,
        scriptPath,
        listeners: new Set(),
        nextRound: 0,
        unwatch: () => {},
      };
      subject.unwatch = this.watcher.watch(
        jobId,
        (st) => this.onStatus(subject, st),
        () => this.forget(jobId),
      );
      this.subjects.set(jobId, (s = subject));
    }
    const subject = s;
    subject.listeners.add(onHint);
    if (subject.shown) onHint(subject.shown);
    this.schedule();
    return () => {
      subject.listeners.delete(onHint);
      if (subject.listeners.size === 0) this.forget(jobId);
    };
  }

  close(): void {
    clearTimeout(this.timer);
    for (const id of [...this.subjects.keys()]) this.forget(id);
  }

  private forget(jobId: string): void {
    const s = this.subjects.get(jobId);
    if (!s) return;
    this.subjects.delete(jobId);
    s.unwatch();
  }

  private onStatus(s: Subject, st: JobStatus): void {
    s.status = st;
    const waiting = st.state === "PENDING" && HINT_REASONS.test(st.reason ?? "");
    if (waiting) s.waitingSince ??= Date.now();
    else {
      s.waitingSince = undefined;
      s.queue = undefined;
      s.best = undefined;
      this.show(s, undefined);
    }
  }

  private show(s: Subject, hint: StartHint | undefined): void {
    if (s.shown?.text === hint?.text) return;
    s.shown = hint;
    for (const l of [...s.listeners]) l(hint);
  }

  private schedule(): void {
    if (this.timer || this.subjects.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => this.schedule());
    }, TICK_MS);
    this.timer.unref();
  }

  private refill(): void {
    const now = Date.now();
    const rate = this.opts.callsPerMinute / 60_000;
    this.tokens = Math.min(this.opts.callsPerMinute, this.tokens + (now - this.refilled) * rate);
    this.refilled = now;
  }

  /** One round: the questions every waiting cell still has, as many as the budget allows, in one command. */
  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.refill();
      const now = Date.now();
      const due = [...this.subjects.values()].filter(
        (s) => s.waitingSince !== undefined && now - s.waitingSince >= this.opts.afterMs,
      );
      for (const s of due) if (!s.queue && now >= s.nextRound) await this.startRound(s);
      const asked: { s: Subject; c: HintCandidate; key: string }[] = [];
      const keys = new Map<string, number>();
      for (const s of due) {
        while (s.queue?.length && Math.floor(this.tokens) > keys.size) {
          const c = s.queue.shift()!;
          const key = `${s.scriptPath} ${c.overrides.join(" ")}`;
          if (!keys.has(key)) keys.set(key, keys.size);
          asked.push({ s, c, key });
        }
      }
      if (asked.length === 0) return;
      const questions = [...keys.keys()].map((key) => {
        const a = asked.find((x) => x.key === key)!;
        return { overrides: a.c.overrides, scriptPath: a.s.scriptPath };
      });
      this.tokens -= questions.length;
      this.calls += questions.length;
      const { clusterNow, answers } = await runTestOnly(this.transport, questions);
      const nowThere = slurmTime(clusterNow) ?? Date.now();
      for (const { s, c, key } of asked) this.consider(s, c, answers[keys.get(key)!]!, nowThere);
      for (const s of new Set(asked.map((a) => a.s))) {
        if (s.queue?.length) continue;
        s.queue = undefined; // the round is over: what it found is the hint, or there is none
        if (s.waitingSince !== undefined) this.show(s, s.best);
      }
    } catch (err) {
      this.opts.log?.(`start-time hints: ${errorMessage(err)}`);
    } finally {
      this.running = false;
    }
  }

  private async startRound(s: Subject): Promise<void> {
    s.options ??= this.transport.readFile(s.scriptPath).then((b) => scriptOptions(b.toString("utf8")));
    const [opts, info] = await Promise.all([s.options, this.discovery.get()]);
    const partition =
      s.status?.partition ?? opts.get("--partition") ?? info.partitions.find((p) => p.isDefault)?.name;
    s.queue = hintCandidates(opts, info, partition);
    s.best = undefined;
    s.nextRound = Date.now() + this.opts.refreshMs;
  }

  /** `clusterNow`: the cluster's clock, read as this machine reads Slurm's times. */
  private consider(s: Subject, c: HintCandidate, answer: TestOnlyAnswer, clusterNow: number): void {
    if (!answer.ok || s.waitingSince === undefined) return;
    const at = slurmTime(answer.startsAt);
    if (at === undefined) return;
    const now = at - clusterNow <= NOW_SLACK_MS;
    const own = slurmTime(s.status?.startTime);
    if (!now && own !== undefined && own - at < WORTH_MS) return;
    if (s.best && slurmTime(s.best.startsAt)! <= at) return;
    const fields = { options: c.label, partition: answer.partition, startsAt: answer.startsAt, now };
    s.best = { ...fields, text: hintText(fields), checkedAt: new Date().toISOString() };
    if (now) s.queue = []; // nothing starts sooner than now
    this.show(s, s.best);
  }
}
