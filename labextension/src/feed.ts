/**
 * The jobs feed in JupyterLab: a comm (target `alpine_kernel.jobs`) on every open notebook whose
 * kernel is alpine-kernel — each says which notebook it is, so rows can jump to their cells — and
 * ONE of them subscribed to the feed (every kernel of the user's server sees every cell job).
 * With no such notebook open, a running alpine kernel is borrowed; with none at all, the panel
 * offers to start one. The comm goes through the kernel's own channels, so this works wherever
 * the notebook does: JupyterLab on the cluster, on a laptop, or through a gateway.
 */
import type { JupyterFrontEnd } from "@jupyterlab/application";
import type { INotebookTracker, NotebookPanel } from "@jupyterlab/notebook";
import type { Kernel, KernelMessage } from "@jupyterlab/services";
import { Signal, type ISignal } from "@lumino/signaling";
import {
  FEED_LEASE_SECONDS,
  JOBS_COMM_TARGET,
  type JobNotice,
  type JobView,
  type JobsFeedMessage,
  type JobsFeedRequest,
} from "../../src/protocol/jobs-feed.js";

/** Renew the feed's lease well before it runs out. */
const RENEW_MS = (FEED_LEASE_SECONDS * 1000) / 4;
const REQUEST_TIMEOUT_MS = 30_000;

interface Attached {
  kernel: Kernel.IKernelConnection;
  comm: Kernel.IComm;
  path?: string;
  /** A kernel this feed connected to itself (not a notebook's): disposed with the feed. */
  own: boolean;
}

type Answer = Extract<JobsFeedMessage, { type: "tail" | "cancelled" | "error" }>;

export class JobsFeed {
  readonly jobs = new Map<string, JobView>();
  private readonly attached = new Map<string, Attached>(); // by kernel id
  private subscriber: string | undefined;
  private offset = 0;
  private readonly pending = new Map<string, (a: Answer) => void>();
  private readonly changedSignal = new Signal<this, void>(this);
  private readonly noticeSignal = new Signal<this, JobNotice>(this);
  private timer: number | undefined;
  private seq = 0;
  private connecting = false;

  constructor(
    private readonly app: JupyterFrontEnd,
    tracker: INotebookTracker,
  ) {
    tracker.widgetAdded.connect((_t, panel) => this.watchNotebook(panel));
    tracker.forEach((panel) => this.watchNotebook(panel));
    app.serviceManager.kernels.runningChanged.connect(() => void this.ensure());
    this.timer = window.setInterval(() => void this.ensure(true), RENEW_MS);
    void this.ensure();
  }

  /** The jobs or the connection changed. */
  get changed(): ISignal<this, void> {
    return this.changedSignal;
  }
  /** A cell started after waiting, or ended. */
  get notices(): ISignal<this, JobNotice> {
    return this.noticeSignal;
  }
  /** Whether some alpine kernel carries the feed now. */
  get connected(): boolean {
    return this.subscriber !== undefined;
  }
  /** Now, in the server's clock (times in views are the server's). */
  now(): number {
    return Date.now() - this.offset;
  }

  /** Starts an alpine kernel for the feed alone (no notebook of it open). */
  async startWatcherKernel(): Promise<void> {
    const specs = this.app.serviceManager.kernelspecs;
    await specs.ready;
    const all = specs.specs?.kernelspecs ?? {};
    const name = Object.keys(all).find((n) => isAlpineSpec(all[n]?.metadata));
    if (!name) throw new Error("no alpine-kernel kernelspec is installed: run `alpine-kernel install`");
    const kernel = await this.app.serviceManager.kernels.startNew({ name });
    await this.attach(kernel, undefined, true);
  }

  cancel(id: string): Promise<Answer> {
    return this.ask({ type: "cancel", requestId: this.nextId(), id });
  }

  tail(id: string, lines = 40): Promise<Answer> {
    return this.ask({ type: "tail", requestId: this.nextId(), id, lines });
  }

  dispose(): void {
    window.clearInterval(this.timer);
    for (const a of this.attached.values()) {
      a.comm.dispose();
      if (a.own) a.kernel.dispose();
    }
    this.attached.clear();
  }

  // ---------------------------------------------------------------- kernels and comms

  private watchNotebook(panel: NotebookPanel): void {
    const ctx = panel.sessionContext;
    const hook = () => {
      const kernel = ctx.session?.kernel;
      if (kernel) void this.attach(kernel, panel.context.path, false);
    };
    ctx.kernelChanged.connect(hook);
    ctx.statusChanged.connect((_c, status) => {
      if (status === "idle") hook(); // after a restart the kernel dropped its comms: open again
    });
    panel.context.pathChanged.connect(hook);
    void ctx.ready.then(hook);
  }

  private async attach(kernel: Kernel.IKernelConnection, path: string | undefined, own: boolean) {
    const usable = (a: Attached | undefined): boolean =>
      a !== undefined && !a.comm.isDisposed && (a.kernel === kernel || !a.own);
    const had = this.attached.get(kernel.id);
    if (had && usable(had)) {
      if (path && had.path !== path) {
        had.path = path;
        had.comm.send({ type: "notebook", path } satisfies JobsFeedRequest);
      }
      return;
    }
    if (!(await isAlpineKernel(kernel))) return;
    const now = this.attached.get(kernel.id);
    if (usable(now)) return; // attached meanwhile
    this.openComm(kernel, path ?? now?.path, own);
    // A kernel borrowed while no notebook had it: the notebook's own connection replaces ours.
    if (now && now.kernel !== kernel) {
      now.comm.close();
      now.kernel.dispose();
    }
  }

  private openComm(kernel: Kernel.IKernelConnection, path: string | undefined, own: boolean): void {
    const comm = kernel.createComm(JOBS_COMM_TARGET);
    const subscribe = this.subscriber === undefined || this.subscriber === kernel.id;
    this.attached.set(kernel.id, { kernel, comm, path, own });
    if (subscribe) this.subscriber = kernel.id;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) =>
      this.onMessage(kernel.id, msg.content.data as JobsFeedMessage);
    comm.onClose = () => this.detach(kernel.id, comm);
    kernel.disposed.connect(() => this.detach(kernel.id, comm));
    comm.open({ ...(path ? { notebook_path: path } : {}), subscribe });
  }

  private detach(kernelId: string, comm: Kernel.IComm): void {
    const a = this.attached.get(kernelId);
    if (!a || a.comm !== comm) return;
    this.attached.delete(kernelId);
    if (this.subscriber === kernelId) {
      this.subscriber = undefined;
      void this.ensure();
    }
    this.changedSignal.emit();
  }

  /** One live subscription (renewed), on a notebook's kernel, else on any running alpine kernel. */
  private async ensure(renew = false): Promise<void> {
    for (const [id, a] of [...this.attached]) {
      if (a.kernel.isDisposed) this.attached.delete(id);
      // The kernel restarted (and dropped its comms) or let the lease lapse: open it again.
      else if (a.comm.isDisposed) this.openComm(a.kernel, a.path, a.own);
    }
    if (this.subscriber && !this.attached.has(this.subscriber)) this.subscriber = undefined;
    const sub = this.subscriber ? this.attached.get(this.subscriber) : undefined;
    if (sub) {
      if (renew) sub.comm.send({ type: "subscribe" } satisfies JobsFeedRequest);
      return;
    }
    const next = [...this.attached.values()][0];
    if (next) {
      this.subscriber = next.kernel.id;
      next.comm.send({ type: "subscribe" } satisfies JobsFeedRequest);
      return;
    }
    if (this.connecting) return;
    this.connecting = true;
    try {
      const kernels = this.app.serviceManager.kernels;
      for (const model of kernels.running()) {
        if (this.attached.has(model.id)) continue;
        const kernel = kernels.connectTo({ model });
        if (await isAlpineKernel(kernel)) {
          await this.attach(kernel, undefined, true);
          return;
        }
        kernel.dispose();
      }
    } finally {
      this.connecting = false;
      this.changedSignal.emit();
    }
  }

  // ---------------------------------------------------------------- messages

  private onMessage(kernelId: string, m: JobsFeedMessage): void {
    switch (m.type) {
      case "snapshot":
        if (kernelId !== this.subscriber) return;
        this.offset = Date.now() - m.now;
        this.jobs.clear();
        for (const v of m.jobs) this.jobs.set(v.id, v);
        return this.changedSignal.emit();
      case "update":
        if (kernelId !== this.subscriber) return;
        this.offset = Date.now() - m.now;
        for (const v of m.jobs) this.jobs.set(v.id, v);
        return this.changedSignal.emit();
      case "notice":
        if (kernelId === this.subscriber) this.noticeSignal.emit(m.notice);
        return;
      default: {
        const answer = m.requestId ? this.pending.get(m.requestId) : undefined;
        if (answer && m.requestId) {
          this.pending.delete(m.requestId);
          answer(m);
        } else if (m.type === "error") console.warn(`alpine-kernel jobs feed: ${m.message}`);
      }
    }
  }

  private nextId(): string {
    return `r${++this.seq}-${Date.now()}`;
  }

  private ask(req: Extract<JobsFeedRequest, { requestId: string }>): Promise<Answer> {
    const sub = this.subscriber ? this.attached.get(this.subscriber) : undefined;
    if (!sub) return Promise.reject(new Error("no Alpine kernel is connected"));
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(req.requestId);
        reject(new Error("the kernel did not answer in 30 s"));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(req.requestId, (a) => {
        window.clearTimeout(timer);
        resolve(a);
      });
      sub.comm.send(req);
    });
  }
}

function isAlpineSpec(metadata: unknown): boolean {
  return typeof metadata === "object" && metadata !== null && "alpine_kernel" in metadata;
}

const known = new Map<string, Promise<boolean>>();

/** alpine-kernel says so in kernel_info (whatever its kernelspec is called). */
function isAlpineKernel(kernel: Kernel.IKernelConnection): Promise<boolean> {
  let p = known.get(kernel.id);
  if (!p) {
    // A kernel that never answers kernel_info (dead, or not ready in 15 s) is not taken for one.
    const late = new Promise<boolean>((r) => window.setTimeout(() => r(false), 15_000));
    p = Promise.race([
      kernel.info.then(
        (i) => i.implementation === "alpine-kernel",
        () => false,
      ),
      late,
    ]);
    known.set(kernel.id, p);
    void p.then((ok) => ok || known.delete(kernel.id)); // ask again next time: it may have been starting
  }
  return p;
}
