/**
 * Every allocation this server holds, per notebook session: `%slurm allocate` makes one (the
 * holder job submitted through the same `Scheduler` as cells), the cells that fit run in it, and
 * its record survives a server restart (the holder is followed again, its daemon's events re-read).
 */
import type { Transport } from "../../cluster/transport";
import { errorMessage } from "../../errors";
import type { DirWatcher } from "../job-follower";
import type { EnvironmentSetup, SbatchPair } from "../job-script";
import { outputLimitOf, runnerOnFirstUse } from "../runner-install";
import type { JobState, JobStatus, Scheduler } from "../scheduler";
import { namespacePath } from "../session-files";
import { parseTimeOption } from "../slurm/slurm-time";
import { Allocation, type AllocationEnd, type AllocationInfo, type AllocationPhase } from "./allocation";
import { AllocationBackend, type AllocationLookup } from "./allocation-backend";
import { allocationPaths } from "./allocation-paths";
import { extendJob, mayExtend } from "./extend";
import { holderTag, renderHolderScript } from "./holder-script";
import type { SessionFiles } from "../session-files";

/** An allocation as the ledger keeps it (and the jobs panel and `%squeue` read it). */
export type AllocationRecord = Omit<AllocationInfo, "submitted"> & {
  kind: "allocation";
  /** ISO time (AllocationInfo's is epoch ms). */
  submitted: string;
  phase: AllocationPhase["name"];
  partition?: string;
  node?: string;
  cpus?: number;
  memory?: string;
  gpus?: number;
  /** When its time limit ends it (ISO), once it runs: the remaining time is what readers show. */
  endsAt?: string;
  timeLimit?: string;
  ended?: string;
  /** How it ended, in words ("released", "it reached its time limit"), and in Slurm's. */
  endWhy?: string;
  endState?: JobState;
};

/** Where records are kept (the ledger, composed in server/backend.ts). */
export interface AllocationStore {
  get(id: string): AllocationRecord | undefined;
  /** A new record (once); later changes go through `update`. */
  put(rec: AllocationRecord): void;
  /** Changes some fields of a record (null removes one). */
  update(id: string, fields: Record<string, unknown>): void;
  list(): AllocationRecord[];
  remove(id: string): void;
}

export interface AllocationsOptions {
  environment: EnvironmentSetup;
  /** The configured work directory (the runner is installed under it). */
  workDir: string;
  /** The umask the holder and its Python run with (environment.umask). */
  umask: string;
  watchDir?: DirWatcher;
  /** Bytes of a cell's output sent to the notebook (0: all of it), as for per-cell jobs. */
  outputLimitBytes?: number;
  saveAheadSeconds: number;
  warnAheadSeconds: number;
  afterEnd: "per-cell" | "reallocate";
  log(message: string): void;
}

/** What `%slurm allocate` asks for. */
export interface AllocateRequest {
  sessionId: string;
  notebookKey: string;
  notebook: string;
  /** The session directory as configured. */
  sessionDir: string;
  /** Where the cells' process starts (unresolved). */
  workDir: string;
  sbatch: SbatchPair[];
  profile?: string;
}

const KEEP_ENDED_MS = 7 * 24 * 3600 * 1000;

export class Allocations implements AllocationLookup {
  readonly backend: AllocationBackend;
  private readonly byId = new Map<string, Allocation>();
  /** The runner's path on the cluster, installed on first use. */
  private readonly runnerPath: () => Promise<string>;
  private extendable: Promise<boolean> | undefined;
  private readonly changeListeners = new Set<(id: string) => void>();

  constructor(
    private readonly transport: Transport,
    private readonly scheduler: Scheduler,
    private readonly files: SessionFiles,
    private readonly store: AllocationStore,
    private readonly options: AllocationsOptions,
  ) {
    this.runnerPath = runnerOnFirstUse(transport, options.workDir);
    this.backend = new AllocationBackend(transport, files, this, {
      watchDir: options.watchDir,
      outputLimit: outputLimitOf(options.outputLimitBytes, this.runnerPath),
    });
    const cutoff = Date.now() - KEEP_ENDED_MS;
    for (const rec of store.list()) {
      if (rec.ended && Date.parse(rec.ended) < cutoff) store.remove(rec.id);
      else if (!rec.ended) this.adopt(this.infoOf(rec), true);
    }
  }

  get afterEnd(): "per-cell" | "reallocate" {
    return this.options.afterEnd;
  }

  private infoOf(rec: AllocationRecord): AllocationInfo {
    const { id, sessionId, notebookKey, notebook, n, jobId, sessionDir, workDir, sbatch, profile } = rec;
    return {
      id,
      sessionId,
      notebookKey,
      notebook,
      n,
      jobId,
      sessionDir,
      workDir,
      sbatch,
      submitted: Date.parse(rec.submitted),
      ...(profile ? { profile } : {}),
    };
  }

  private context() {
    const { watchDir, saveAheadSeconds, warnAheadSeconds, log } = this.options;
    return {
      transport: this.transport,
      scheduler: this.scheduler,
      watchDir,
      saveAheadSeconds,
      warnAheadSeconds,
      log,
    };
  }

  private adopt(info: AllocationInfo, resumed: boolean, ended?: AllocationEnd): Allocation {
    const a = new Allocation(info, this.context(), { resumed, ...(ended ? { ended } : {}) });
    this.byId.set(info.id, a);
    a.on((news) => {
      if (news.type === "phase" || news.type === "worker") this.save(a);
    });
    this.save(a);
    return a;
  }

  private save(a: Allocation): void {
    const i = a.info;
    const p = a.phase;
    const s = a.status;
    const rec: AllocationRecord = {
      kind: "allocation",
      id: i.id,
      sessionId: i.sessionId,
      notebookKey: i.notebookKey,
      notebook: i.notebook,
      n: i.n,
      jobId: i.jobId,
      sessionDir: i.sessionDir,
      workDir: i.workDir,
      sbatch: i.sbatch,
      submitted: new Date(i.submitted).toISOString(),
      ...(i.profile ? { profile: i.profile } : {}),
      phase: p.name,
      ...(s?.partition ? { partition: s.partition } : {}),
      ...(a.node ? { node: a.node } : {}),
      ...(s?.cpus ? { cpus: s.cpus } : {}),
      ...(s?.memory ? { memory: s.memory } : {}),
      ...(s?.gpus ? { gpus: s.gpus } : {}),
      ...(s?.timeLimit ? { timeLimit: s.timeLimit } : {}),
      ...(a.endsAt ? { endsAt: new Date(a.endsAt).toISOString() } : {}),
      ...(p.name === "ended"
        ? { ended: new Date(p.end.at).toISOString(), endWhy: p.end.why, endState: p.end.state }
        : {}),
    };
    this.keep(rec);
  }

  /** A new record is put once; after that only the fields that changed are written. */
  private keep(rec: AllocationRecord): void {
    const stored: Record<string, unknown> | undefined = this.store.get(rec.id);
    if (!stored) {
      this.store.put(rec);
      return this.changed(rec.id);
    }
    const now: Record<string, unknown> = rec;
    const fields: Record<string, unknown> = {};
    for (const k of new Set([...Object.keys(stored), ...Object.keys(now)]))
      if (JSON.stringify(stored[k]) !== JSON.stringify(now[k])) fields[k] = now[k] ?? null;
    if (Object.keys(fields).length) {
      this.store.update(rec.id, fields);
      this.changed(rec.id);
    }
  }

  private changed(id: string): void {
    for (const l of [...this.changeListeners]) {
      try {
        l(id);
      } catch (err) {
        this.options.log(`allocation ${id}: a change listener failed: ${errorMessage(err)}`);
      }
    }
  }

  // ------------------------------------------------------------------ for the jobs feed

  /** Calls `listener` with a record's id whenever that record changes. */
  onChange(listener: (id: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Every allocation record of this server (ended ones for a week). */
  list(): AllocationRecord[] {
    return this.store.list();
  }

  record(id: string): AllocationRecord | undefined {
    return this.store.get(id);
  }

  /** squeue's last word on a followed allocation (its pending reason, estimated start, billing). */
  statusOf(id: string): JobStatus | undefined {
    return this.byId.get(id)?.status;
  }

  get warnAheadSeconds(): number {
    return this.options.warnAheadSeconds;
  }

  /**
   * Releases an allocation from outside its notebook (the jobs panel, the queue page): its
   * namespace is saved first, as `%slurm release` does. Undefined when it had already ended.
   */
  async releaseById(id: string): Promise<{ end: AllocationEnd; savedNames?: number } | undefined> {
    const rec = this.store.get(id);
    if (!rec || rec.ended) return undefined;
    const a = this.byId.get(id) ?? this.byJobId(rec.jobId);
    if (!a?.live) return undefined;
    const asked = Date.now();
    const end = await a.release(true);
    // Saved by this release (a holder still queued has nothing to save, a daemon may fail to).
    const s = a.lastSave;
    const fresh = s && s.saved !== undefined && s.time * 1000 >= asked - 1000 && s.time * 1000 <= end.at;
    return fresh ? { end, savedNames: s.saved } : { end };
  }

  /** The session's latest allocation, live or ended (ended ones are forgotten after a week). */
  latest(sessionId: string): Allocation | undefined {
    let found: Allocation | undefined;
    for (const a of this.byId.values())
      if (a.info.sessionId === sessionId && (!found || a.info.n > found.info.n)) found = a;
    return found;
  }

  live(sessionId: string): Allocation | undefined {
    const a = this.latest(sessionId);
    return a?.live ? a : undefined;
  }

  byJobId(jobId: string): Allocation | undefined {
    for (const a of this.byId.values()) if (a.jobId === jobId) return a;
    // A cell followed again after a restart whose allocation ended meanwhile: followed to learn how.
    const rec = this.store.list().find((r) => r.jobId === jobId);
    if (!rec) return undefined;
    const ended = rec.ended
      ? { why: rec.endWhy ?? "it ended", state: rec.endState ?? "UNKNOWN", at: Date.parse(rec.ended) }
      : undefined;
    return this.adopt(this.infoOf(rec), true, ended);
  }

  /** Records of a notebook's allocations (for %squeue), oldest first. */
  records(notebookKey: string): AllocationRecord[] {
    return this.store
      .list()
      .filter((r) => r.notebookKey === notebookKey)
      .sort((a, b) => a.submitted.localeCompare(b.submitted));
  }

  /** Submits a holder job; resolves once it has a job id (it may still wait in the queue). */
  async allocate(req: AllocateRequest): Promise<Allocation> {
    const [sessionDir, workDir] = await Promise.all([
      this.files.resolve(req.sessionDir),
      this.files.prepareDir(req.workDir),
    ]);
    const n =
      1 +
      Math.max(
        0,
        ...this.store
          .list()
          .filter((r) => r.sessionId === req.sessionId)
          .map((r) => r.n),
      );
    const paths = allocationPaths(sessionDir, n);
    await Promise.all([this.transport.mkdir(paths.requests), this.transport.mkdir(paths.replies)]);
    const script = renderHolderScript({
      notebook: req.notebook,
      sessionId: req.sessionId,
      n,
      sbatch: req.sbatch,
      paths,
      workDir,
      environment: this.options.environment,
      runnerPath: await this.runnerPath(),
      namespacePath: namespacePath(sessionDir),
      saveAheadSeconds: this.options.saveAheadSeconds,
      umask: this.options.umask,
    });
    await this.transport.writeFile(paths.script, script, 0o700);
    const time = req.sbatch.find(([k]) => k === "--time")?.[1];
    const jobId = await this.scheduler.submit({
      scriptPath: paths.script,
      stdoutPath: paths.stdout,
      stderrPath: paths.stderr,
      eventsPath: paths.events,
      workDir,
      loginShell: this.options.environment.modules.length > 0,
      tag: holderTag(req.sessionId, n),
      timeLimitSeconds: time === undefined ? undefined : (parseTimeOption(time) ?? undefined),
    });
    const info: AllocationInfo = {
      id: `${req.sessionId}/${n}`,
      sessionId: req.sessionId,
      notebookKey: req.notebookKey,
      notebook: req.notebook,
      n,
      jobId,
      sessionDir,
      workDir,
      sbatch: req.sbatch,
      submitted: Date.now(),
      ...(req.profile ? { profile: req.profile } : {}),
    };
    return this.adopt(info, false);
  }

  /** Whether Slurm lets this user raise a time limit (asked once per server). */
  mayExtend(): Promise<boolean> {
    this.extendable ??= mayExtend(this.transport);
    return this.extendable;
  }

  /** `%slurm extend`: more time for a running allocation, where Slurm allows it. */
  async extend(a: Allocation, seconds: number): Promise<void> {
    await extendJob(this.transport, a.jobId, seconds);
    this.scheduler.watch(
      a.jobId,
      () => {},
      () => {},
    )(); // hurry the watcher: the new limit shows soon
  }

  /** Stops following (server shutdown): the allocations themselves keep running. */
  close(): void {
    for (const a of this.byId.values()) {
      try {
        a.close();
      } catch (err) {
        this.options.log(`closing allocation ${a.jobId}: ${errorMessage(err)}`);
      }
    }
  }
}
