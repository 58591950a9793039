/**
 * A notebook session's held allocation (`%slurm allocate`): which cells run in it (and why the
 * others do not), its status line, what the notebook is told when it nears its end or ends, and
 * what a kernel restart or shutdown does to it. The allocation itself is `jobs/allocation/`.
 */
import type { Cell } from "../cells/cell";
import { AlpineKernelError, errorMessage } from "../errors";
import type { Allocation, AllocationNews } from "../jobs/allocation/allocation";
import type { Allocations } from "../jobs/allocation/allocations";
import { savedWords } from "../jobs/allocation/cell-death";
import { ADMIN_ONLY } from "../jobs/allocation/extend";
import { fitCell } from "../jobs/allocation/fit";
import { LiveIntrospection } from "../jobs/allocation/live-introspection";
import type { SbatchPair } from "../jobs/job-script";
import type { LedgerEntry } from "../ledger/ledger";
import type { MessageHeader } from "../protocol/messages";
import { AllocationLine, type AllocationDisplay } from "./allocation-line";
import type { IopubPublisher, OutputSink } from "./cell-output";
import type { EffectiveOptions } from "./cell-options";
import type { SessionPlace } from "./cell-host";
import type { SessionEnvironment } from "./environment";
import { newDisplayId, type StatusView } from "./status-display";

/** What the allocation needs of its session (Session implements it). */
export interface AllocationHost {
  readonly id: string;
  readonly notebookKey: string;
  readonly place: SessionPlace;
  readonly env: SessionEnvironment;
  readonly publish: IopubPublisher;
  /** The request of the attached cell running now (a notice goes under it), if any. */
  currentParent(): MessageHeader | undefined;
}

/** The status line of a session's allocation, kept in the ledger so a restarted server updates it. */
interface DisplayRecord extends LedgerEntry, AllocationDisplay {
  kind: "allocation-display";
  /** The session's id. */
  id: string;
  parent: MessageHeader;
}

/** Where a cell runs: in the allocation, or as its own job (with the reason to show). */
export interface Route {
  allocation?: string;
  /** The allocation's partition, for the cell's record. */
  partition?: string;
  note?: string;
}

export interface AllocateOptions {
  sbatch: SbatchPair[];
  profile?: string;
  wait: boolean;
}

/** The ends after which `after_end: reallocate` asks for a new allocation. */
const REALLOCATE_AFTER: ReadonlySet<string> = new Set(["TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL"]);

function hm(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5);
}

export class SessionAllocation {
  private line: AllocationLine | undefined;
  private readonly notices: string[] = [];
  private abortWait: (() => void) | undefined;
  private off: (() => void) | undefined;

  constructor(
    private readonly host: AllocationHost,
    private readonly allocations: Allocations,
  ) {
    // A server restart: the session's allocation and its status line are picked up again.
    const a = allocations.latest(host.id);
    const d = this.display;
    if (a?.live) this.watch(a, d && d.jobId === a.jobId ? d : undefined, true);
  }

  private get display(): DisplayRecord | undefined {
    return this.host.env.ledger.get<DisplayRecord>("allocation-display", this.host.id);
  }

  /** The allocation cells may run in now (queued, starting or ready). */
  get live(): Allocation | undefined {
    return this.allocations.live(this.host.id);
  }

  private watch(
    a: Allocation,
    display: (AllocationDisplay & { parent: MessageHeader }) | undefined,
    shown: boolean,
  ): void {
    this.off?.();
    this.line?.stop();
    this.line = undefined;
    if (display) {
      const publish = (
        type: "display_data" | "update_display_data",
        data: Record<string, string>,
        id: string,
      ) => this.host.publish(type, { data, metadata: {}, transient: { display_id: id } }, display.parent);
      const ticking = this.host.env.config.slurm.status_line;
      this.line = new AllocationLine(publish, a, display.displayId, shown, ticking);
    }
    this.off = a.on((n) => this.onNews(a, n));
  }

  private onNews(a: Allocation, n: AllocationNews): void {
    if (n.type === "ending-soon") void this.warnEnding(a, n.endsAt);
    if (n.type === "phase" && n.phase.name === "ended" && n.phase.end.why !== "released") {
      this.say(
        `allocation ${a.jobId} ended at ${hm(n.phase.end.at)}: ${n.phase.end.why}. ${this.afterEndWords(a)}`,
      );
    }
  }

  private afterEndWords(a: Allocation): string {
    return this.allocations.afterEnd === "reallocate"
      ? `The next cell asks for a new allocation with the same options and runs in it, from ${savedWords(a)}.`
      : `The next cells run as their own jobs, from ${savedWords(a)} (\`%slurm allocate\` holds a new allocation).`;
  }

  private async warnEnding(a: Allocation, endsAt: number): Promise<void> {
    const minutes = Math.max(1, Math.round((endsAt - Date.now()) / 60_000));
    const offer = (await this.allocations.mayExtend())
      ? "`%slurm extend 1:00:00` asks Slurm for an hour more."
      : `${ADMIN_ONLY}: save what you need, or \`%slurm allocate\` a new allocation (the namespace is carried).`;
    const saveAt = endsAt - this.host.env.config.slurm.allocation.save_ahead_seconds * 1000;
    this.say(
      `allocation ${a.jobId} ends in ${minutes} min (at ${hm(endsAt)}): its namespace is saved at ${hm(saveAt)}, then cells run as their own jobs. ${offer}`,
    );
  }

  /** A notice: under the running cell, else at the top of the next one. */
  private say(text: string): void {
    const parent = this.host.currentParent();
    if (parent) this.host.publish("stream", { name: "stderr", text: `alpine-kernel: ${text}\n` }, parent);
    else this.notices.push(text);
  }

  // ------------------------------------------------------------------ %slurm allocate / release

  /** Holds a new allocation (releasing the current one first); waits until its Python is ready unless told not to. */
  async allocate(opts: AllocateOptions, out: OutputSink, parent: MessageHeader): Promise<Allocation> {
    const old = this.live;
    if (old) {
      out.stream(
        "stdout",
        `releasing allocation ${old.jobId} first (its namespace is saved for the new one)…\n`,
      );
      await this.release(out, true);
    }
    const a = await this.allocations.allocate({
      sessionId: this.host.id,
      notebookKey: this.host.notebookKey,
      notebook: this.host.place.notebook,
      sessionDir: this.host.place.dir,
      workDir: this.host.place.cellsDir,
      sbatch: opts.sbatch,
      ...(opts.profile ? { profile: opts.profile } : {}),
    });
    const display: DisplayRecord = {
      kind: "allocation-display",
      id: this.host.id,
      jobId: a.jobId,
      displayId: newDisplayId(),
      parent,
    };
    this.host.env.ledger.put(display);
    this.watch(a, display, false);
    if (opts.wait) await this.waitReady(a);
    return a;
  }

  private async waitReady(a: Allocation): Promise<void> {
    let off = () => {};
    const outcome = await new Promise<"ready" | "ended" | "interrupted">((resolve) => {
      const check = () => {
        if (a.phase.name === "ready") resolve("ready");
        else if (a.phase.name === "ended") resolve("ended");
      };
      off = a.on(() => check());
      this.abortWait = () => resolve("interrupted");
      check();
    }).finally(() => {
      off();
      this.abortWait = undefined;
    });
    if (outcome === "ready") return;
    if (outcome === "interrupted") {
      await a.release(false);
      throw new AlpineKernelError(
        "ALLOCATION_NOT_READY",
        `the wait for allocation ${a.jobId} was interrupted, and it was cancelled; \`%slurm allocate\` asks for a new one`,
      );
    }
    const end = a.phase.name === "ended" ? a.phase.end : undefined;
    const tail = await a.stderrTail();
    throw new AlpineKernelError(
      "ALLOCATION_NOT_READY",
      `allocation ${a.jobId} ended before its Python was ready (${end?.why ?? "it ended"}${end?.final ? `, exit code ${end.final.exitCode}` : ""})${tail ? `:\n${tail}` : ""}`,
    );
  }

  /** Jupyter's interrupt while `%slurm allocate` waits: stop waiting (true when it did). */
  interruptWait(): boolean {
    if (!this.abortWait) return false;
    this.abortWait();
    return true;
  }

  async release(out: OutputSink, save: boolean): Promise<void> {
    const a = this.live;
    if (!a) {
      out.stream("stdout", "this notebook holds no allocation\n");
      return;
    }
    const end = await a.release(save);
    const s = a.lastSave;
    const kept =
      save && s?.saved !== undefined && s.time * 1000 <= end.at
        ? ` (namespace saved: ${s.saved} name${s.saved === 1 ? "" : "s"})`
        : "";
    out.stream("stdout", `allocation ${a.jobId} released${kept}; the next cells run as their own jobs\n`);
  }

  // ------------------------------------------------------------------ cells

  /** Where a cell runs, and what the notebook is told about it; the namespace is saved first for a cell that leaves the allocation's memory. */
  async route(options: EffectiveOptions, out: OutputSink, parent: MessageHeader): Promise<Route> {
    for (const n of this.notices.splice(0)) out.stream("stderr", `alpine-kernel: ${n}\n`);
    let a = this.live;
    if (options.detach) {
      if (!a) return {};
      await this.sync(a, out);
      return {
        note: `runs as its own job (detached cells always do), from allocation ${a.jobId}'s namespace as of now`,
      };
    }
    if (!a) a = await this.reallocate(out, parent);
    if (!a && options.allocate) {
      const { profile, sbatch } = options.allocate;
      out.stream(
        "stderr",
        `alpine-kernel: profile ${profile} runs cells in a held allocation (slurm.profiles.${profile}.allocate): allocating one…\n`,
      );
      a = await this.allocate({ sbatch, profile, wait: false }, out, parent);
    }
    if (!a) return {};
    const fit = fitCell(options.own, a.shape());
    if (fit.fits) return { allocation: a.jobId, partition: a.shape().partition };
    await this.sync(a, out);
    return { note: `runs as its own job, not in allocation ${a.jobId}: ${fit.why}` };
  }

  /** After an allocation ended by itself: a new one with the same options, when so configured. */
  private async reallocate(out: OutputSink, parent: MessageHeader): Promise<Allocation | undefined> {
    const last = this.allocations.latest(this.host.id);
    if (!last || last.live || this.allocations.afterEnd !== "reallocate") return undefined;
    // Ended by itself (time limit, node failure, preemption), not released nor cancelled by someone.
    if (last.phase.name !== "ended" || !REALLOCATE_AFTER.has(last.phase.end.state)) return undefined;
    if (this.display?.jobId !== last.jobId) return undefined; // already replaced once
    out.stream(
      "stderr",
      `alpine-kernel: allocation ${last.jobId} has ended; asking for a new one with the same options (slurm.allocation.after_end: reallocate)…\n`,
    );
    return this.allocate(
      { sbatch: last.info.sbatch, ...(last.info.profile ? { profile: last.info.profile } : {}), wait: false },
      out,
      parent,
    );
  }

  /** The namespace a job of its own starts from is the allocation's: saved first (when anything changed). */
  private async sync(a: Allocation, out: OutputSink): Promise<void> {
    if (a.phase.name !== "ready") return;
    const started = Date.now();
    const saved = await a.save("a cell runs as its own job");
    if (saved.error) {
      out.stream(
        "stderr",
        `alpine-kernel: allocation ${a.jobId}'s namespace could not be saved (${saved.error}); this job starts from ${savedWords(a)}\n`,
      );
      return;
    }
    const skipped = typeof saved.skipped === "object" ? Object.keys(saved.skipped) : [];
    if (skipped.length)
      out.stream(
        "stderr",
        `alpine-kernel: not carried to this job (they stay in allocation ${a.jobId}): ${skipped.join(", ")}\n`,
      );
    if (Date.now() - started > 2000 && saved.bytes !== undefined)
      out.stream(
        "stderr",
        `alpine-kernel: saved allocation ${a.jobId}'s namespace for this job (${(saved.bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
  }

  /** What the status line of a cell in the allocation shows (undefined for a job of its own). */
  viewOf(cell: Cell): StatusView["allocation"] {
    const job = cell.submittedJob;
    if (job?.via !== "allocation" || !job.allocation) return undefined;
    const a = this.allocations.byJobId(job.allocation);
    const p = cell.phase;
    const node = p.name === "running" ? p.node : p.name === "ended" ? p.end.node : undefined;
    return { jobId: job.allocation, node: node ?? a?.node, endsAt: a?.live ? a.endsAt : undefined };
  }

  /** Completion and inspection from the allocation's live Python, while it is ready. */
  introspection(): LiveIntrospection | undefined {
    const a = this.live;
    return a?.phase.name === "ready" ? new LiveIntrospection(a) : undefined;
  }

  // ------------------------------------------------------------------ the kernel's life

  /** A kernel restart: the allocation's Python starts over with an empty namespace. */
  async onKernelRestart(): Promise<void> {
    await this.live
      ?.reset()
      .catch((err) => this.host.env.log.warn(`resetting the allocation failed: ${errorMessage(err)}`));
  }

  /** The kernel shuts down: nobody will use the allocation (its namespace is not kept either). */
  async onShutdown(): Promise<void> {
    const a = this.live;
    this.off?.();
    if (a)
      await a
        .release(false)
        .catch((err) =>
          this.host.env.log.warn(`releasing allocation ${a.jobId} failed: ${errorMessage(err)}`),
        );
    this.line?.stop();
    this.host.env.ledger.remove("allocation-display", this.host.id);
  }
}
