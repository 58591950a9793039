/**
 * One kernel's life on the server: its frontends, its execute queue, its namespace and history.
 * Frontends reach it through the WebSocket channels (directly, or via the ZMQ kernel bridge); its
 * cells are `Cell`s that it shows and answers for; it never touches the cluster itself.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import type { Cell } from "../cells/cell";
import { errorMessage } from "../errors";
import {
  isMessageType,
  type MessageHeader,
  type RawMessage,
  type RequestMessage,
} from "../protocol/messages";
import { asRequest, isCommType } from "../protocol/validate";
import { CellOptions } from "./cell-options";
import type { SessionClient } from "./client";
import { Frontends } from "./frontends";
import type { SessionEnvironment } from "./environment";
import { ExecuteQueue } from "./execute-queue";
import { cellEnvironment, type CellEnvironment } from "./cell-environment";
import { handleRequest } from "./handlers";
import { JobsComms } from "./jobs-comm";
import { kernelPythonOf, type KernelPython } from "./kernel-info";
import type { InputRelay } from "./input-relay";
import { LoginPrompts } from "./login-prompts";
import type { CellHost, SessionPlace } from "./cell-host";
import { abortCell, answerResumed, executeCell } from "./execute-cell";
import { Replies } from "./replies";
import { resumeCell } from "./run-cell";
import {
  HISTORY_BOUND,
  addHistory,
  boundedNames,
  historyEntry,
  newSessionRecord,
  type SessionRecord,
} from "./session-record";
import type { IntrospectionHelper } from "../jobs/introspection/introspection-helper";
import { SessionIntrospection, introspectionContext } from "./session-introspection";
import type { NameKinds } from "../jobs/runner-events";
import { SessionAllocation, type AllocationHost } from "./session-allocation";
export type { SessionRecord } from "./session-record";

export class Session implements CellHost, AllocationHost {
  readonly frontends = new Frontends();
  readonly replies: Replies;
  /** Every iopub message goes out here, typed. */
  readonly publish: Replies["publish"];
  lastActivity = new Date();
  private readonly queue: ExecuteQueue;
  /** The attached cell in flight: interrupts and input replies go to it. */
  private current: { cell: Cell; inputs?: InputRelay } | undefined;
  readonly options: CellOptions;
  private readonly logins: LoginPrompts;
  /** The jobs comms frontends opened (the JupyterLab extension's jobs panel). */
  readonly comms: JobsComms;
  private closed = false;
  /** Things said once per session: where cells run, ignored options, each environment's Python. */
  private readonly said = new Set<string>();
  private readonly introspector: SessionIntrospection;
  readonly allocation?: SessionAllocation; // `%slurm allocate` (slurm backend)
  /** Called when a frontend asked, on the control channel, to shut the kernel down. */
  onShutdownRequest: (restart: boolean) => Promise<void> = async () => {};

  private constructor(
    readonly env: SessionEnvironment,
    private state: SessionRecord,
    readonly log: Logger,
  ) {
    this.replies = new Replies(this.frontends, state.id);
    this.publish = this.replies.publish;
    this.queue = new ExecuteQueue(
      (item) => executeCell(this, item),
      (item) => abortCell(this, item),
    );
    state.slurmDefaults ??= [];
    this.logins = new LoginPrompts(env.prompts, state.id, (clientId, msg) =>
      this.frontends.send(clientId, msg),
    );
    this.options = new CellOptions(env.config, env.discovery, state.slurmDefaults, state.kernelProfile);
    this.options.notebookEnv = state.condaEnv;
    this.comms = new JobsComms(this);
    if (state.notebookPath) env.cells.feed.setNotebookPath(state.id, state.notebookPath);
    this.introspector = new SessionIntrospection(env.openIntrospection, () =>
      introspectionContext(this.state),
    );
    if (env.allocations) this.allocation = new SessionAllocation(this, env.allocations);
  }

  static create(
    env: SessionEnvironment,
    init: {
      id: string;
      name: string;
      workDir: string;
      notebook: string;
      jupyterPython?: string;
      kernelProfile?: string;
    },
  ): Session {
    const previousRun = Math.max(
      0,
      ...env.cells.forNotebook(`${init.workDir}/${init.notebook}`).map((r) => r.run ?? 1),
    );
    const record = newSessionRecord({
      ...init,
      dir: join(env.config.work_dir, init.id),
      cellsDir: env.files.cellsDir(init.workDir, init.notebook),
      run: previousRun + 1,
    });
    env.ledger.put(record);
    return new Session(env, structuredClone(record), env.log.child({ kernel: init.id }));
  }

  /** Brings back a session recorded before a server restart, following again its cells in flight. */
  static restore(env: SessionEnvironment, stored: SessionRecord): Session {
    // A copy: the session changes its state and sends the ledger only the changes.
    const record = structuredClone(stored);
    record.history = (record.history ?? []).map(([n, code]) => historyEntry(n, code));
    const session = new Session(env, record, env.log.child({ kernel: record.id }));
    for (const rec of env.cells.inFlight().filter((r) => r.sessionId === record.id)) {
      session.log.info({ job: rec.jobId, seq: rec.seq }, "following a cell again after a server restart");
      const cell = resumeCell(env, rec, session);
      if (rec.detached) continue;
      // The request it answers is still unanswered: it goes first, before anything sent since.
      session.queue.runFirst(answerResumed(session, cell, rec.executionCount));
    }
    return session;
  }

  get id(): string {
    return this.state.id;
  }
  get name(): string {
    return this.state.name;
  }
  get executionCount(): number {
    return this.state.executionCount;
  }
  get history(): readonly [number, string][] {
    return this.state.history;
  }
  get names(): ReadonlyMap<string, string> {
    return new Map(Object.entries(this.state.names));
  }
  get executionState(): "busy" | "idle" {
    return this.queue.busy ? "busy" : "idle";
  }
  /** Cells queued or running: a server with any of these is not idle. */
  get cellsInFlight(): number {
    return this.queue.length;
  }

  // ------------------------------------------------------------ what its cells need (CellHost)

  /** This notebook, across kernel restarts and reopenings: where its cell jobs are filed. */
  get notebookKey(): string {
    return `${this.state.workDir}/${this.state.notebook}`;
  }

  get run(): number {
    return this.state.run ?? 1;
  }

  get notebookPath(): string | undefined {
    return this.state.notebookPath;
  }

  /** The frontend said where this notebook is (the jobs comm): kept, and shown with its cells. */
  setNotebookPath(path: string): void {
    if (this.state.notebookPath === path) return;
    this.state.notebookPath = path;
    this.persist({ notebookPath: path });
  }

  get place(): SessionPlace {
    const { dir, workDir, notebook } = this.state;
    const cellsDir = (this.state.cellsDir ??= this.env.files.cellsDir(workDir, notebook));
    return { dir, cellsDir, localDir: workDir, notebook };
  }

  once(what: string): boolean {
    if (this.said.has(what)) return false;
    this.said.add(what);
    return true;
  }

  nextSeq(): number {
    const seq = ++this.state.cellSeq;
    this.persist({ cellSeq: seq });
    return seq;
  }

  saveDefaults(): void {
    this.state.slurmDefaults = this.options.notebookDefaults;
    this.state.condaEnv = this.options.notebookEnv;
    this.persist({ slurmDefaults: this.state.slurmDefaults, condaEnv: this.state.condaEnv ?? null });
  }

  environmentFor(condaEnv?: string): CellEnvironment {
    return cellEnvironment(this.env.config, {
      condaEnv: condaEnv ?? this.options.notebookEnv,
      jupyterPython: this.state.jupyterPython,
    });
  }

  /** The Python of this notebook's environment for kernel_info: known, asked (briefly), or why not. */
  kernelPython(waitMs: number): Promise<KernelPython> {
    return kernelPythonOf(this.env, this.environmentFor(), waitMs);
  }

  readonly currentParent = (): MessageHeader | undefined => this.current?.cell.info.origin.parent;

  setCurrent(cell: Cell | undefined, inputs?: InputRelay): void {
    this.current = cell && { cell, inputs };
  }

  askInput(clientId: string, prompt: string, password: boolean, parent: MessageHeader): string {
    return this.replies.ask(clientId, prompt, password, parent);
  }

  setNamespace(names: Record<string, string>, storeBytes?: number, kinds?: NameKinds): void {
    this.state.names = boundedNames(names);
    this.state.namespaceBytes = storeBytes;
    this.state.kinds = kinds;
    this.persist(
      { names: this.state.names, namespaceBytes: storeBytes ?? null, kinds: kinds ?? null },
      false,
    );
    this.introspector.changed();
  }

  afterDelivery(fn: () => void): void {
    this.frontends.afterDelivery(fn);
  }

  get namespaceBytes(): number | undefined {
    return this.state.namespaceBytes;
  }

  /** This session's introspection helper, started on first use (none when completion.helper is off). */
  get introspection(): IntrospectionHelper | undefined {
    return this.introspector.get();
  }

  // ------------------------------------------------------------ frontends

  attach(client: SessionClient): void {
    this.frontends.attach(client);
  }

  detach(client: SessionClient): void {
    this.frontends.detach(client);
  }

  /** Entry point for every message a frontend sends. Never throws. */
  handle(raw: RawMessage, client: SessionClient): void {
    if (this.closed) return; // a frame that raced the shutdown: this kernel runs nothing more
    this.lastActivity = new Date();
    if (raw.header.msg_type === "input_reply") {
      if (this.logins.take(raw)) return;
      if (!this.current?.inputs?.take(raw)) this.log.warn("input_reply with no input request waiting");
      return;
    }
    if (isCommType(raw.header.msg_type)) {
      // Answered at once, also while a cell runs: comms never wait in the execute queue.
      return this.replies.withStatus(raw.header, () => this.comms.handleRaw(raw));
    }
    let req: RequestMessage | undefined;
    try {
      req = asRequest(raw);
    } catch (err) {
      this.log.warn({ msg_type: raw.header.msg_type }, `malformed request refused: ${errorMessage(err)}`);
      this.replies.replyError(raw, client.id, err);
      return;
    }
    if (!req) {
      this.log.debug(
        { msg_type: raw.header.msg_type, channel: raw.channel },
        "message type not handled; ignored",
      );
      return;
    }
    if (isMessageType(req, "execute_request")) {
      this.queue.push({ request: req, clientId: client.id });
    } else if (isMessageType(req, "interrupt_request")) {
      void this.interrupt(); // reports its own failures
      this.replies.withStatus(req.header, () =>
        this.replies.reply(req, client.id, "interrupt_reply", { status: "ok" }),
      );
    } else if (isMessageType(req, "shutdown_request")) {
      const restart = req.content.restart;
      const answer = () =>
        this.replies.withStatus(req.header, () =>
          this.replies.reply(req, client.id, "shutdown_reply", { status: "ok", restart }),
        );
      // A restart is done before the reply, so requests sent after the reply meet the fresh kernel;
      // a shutdown replies first, while the client is still attached.
      this.stopCells()
        .then(async () => {
          if (restart) await this.onShutdownRequest(true);
          answer();
          if (!restart) await this.onShutdownRequest(false);
        })
        .catch((err) => this.log.error(`shutdown_request failed: ${errorMessage(err)}`));
    } else {
      void this.answer(req, client.id); // answer() replies with an error itself
    }
  }

  private async answer(req: RequestMessage, clientId: string): Promise<void> {
    await this.replies.whileBusy(req.header, async () => {
      try {
        const { type, content } = await handleRequest(this, req);
        this.replies.reply(req, clientId, type, content);
      } catch (err) {
        this.replies.replyError(req, clientId, err);
      }
    });
  }

  // ------------------------------------------------------------ execution

  countCell(code: string, silent: boolean, storeHistory: boolean): number {
    if (!silent && storeHistory) this.persist({ executionCount: ++this.state.executionCount });
    if (storeHistory) {
      const entry = addHistory(this.state, this.state.executionCount, code);
      if (!this.closed) this.env.ledger.push("session", this.id, "history", entry, HISTORY_BOUND);
    }
    return this.state.executionCount;
  }

  answerLoginsIn(clientId: string, parent: MessageHeader): () => void {
    return this.logins.answerIn(clientId, parent);
  }

  /** Records what changed of the session (durable unless said otherwise). */
  private persist(fields: { [K in keyof SessionRecord]?: SessionRecord[K] | null }, durable = true): void {
    if (!this.closed) this.env.ledger.update("session", this.id, fields, { durable });
  }

  // ------------------------------------------------------------ lifecycle

  /** Jupyter's interrupt: KeyboardInterrupt in the running cell (a second one cancels its job). */
  async interrupt(): Promise<void> {
    if (this.allocation?.interruptWait()) return; // `%slurm allocate` waiting: stop (and cancel it)
    // A cell still logging in to the cluster (no job yet) stops by withdrawing its login prompts;
    // a cell whose job runs keeps them: its interrupt needs the connection itself.
    if (!this.current?.cell.jobId) this.logins.cancel("the cell was interrupted");
    await this.current?.cell.interrupt();
  }

  /** Cancels the running cell and aborts the waiting ones. */
  async stopCells(): Promise<void> {
    this.queue.abortWaiting();
    const cell = this.current?.cell;
    if (cell) await cell.cancel().catch((err) => this.log.warn(`cancel failed: ${errorMessage(err)}`));
    const detached = this.env.cells.forNotebook(this.notebookKey).filter((r) => r.detached && !r.ended);
    if (detached.length) {
      const ids = detached.map((r) => r.jobId).join(", ");
      const text = `alpine-kernel: detached job(s) ${ids} keep running; %squeue lists them and %slurm output JOBID shows their output.\n`;
      this.publish("stream", { name: "stderr", text }, {});
    }
  }

  /** Fresh namespace and execution count; cells in flight are cancelled. */
  async restart(): Promise<void> {
    await this.stopCells();
    await this.env.files
      .removeNamespace(this.state.dir)
      .catch((err) => this.log.warn(`removing the namespace failed: ${errorMessage(err)}`));
    await this.allocation?.onKernelRestart();
    this.state.executionCount = 0;
    this.state.run = this.run + 1;
    this.comms.closeAll();
    this.setNamespace({});
    this.persist({ executionCount: 0, run: this.state.run });
    this.publish("status", { execution_state: "starting" }, {});
    this.publish("status", { execution_state: "idle" }, {});
  }

  async shutdown(): Promise<void> {
    await this.stopCells();
    this.comms.closeAll();
    await this.allocation?.onShutdown();
    this.closed = true;
    this.introspector.close();
    this.env.ledger.remove("session", this.id);
    this.frontends.closeAll("kernel shut down");
    // No session can start from this namespace again: its store is garbage (detached cells still
    // running have snapshots of their own). Not awaited: gigabytes take a while to remove.
    void this.env.files
      .removeNamespace(this.state.dir)
      .catch((err) => this.log.warn(`removing the namespace failed: ${errorMessage(err)}`));
  }
}
