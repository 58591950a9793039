/**
 * One session's introspection helper: a long-lived, low-priority Python with jedi in the cells' own
 * environment (modules loaded, conda env active), reached through `Transport.spawn` — on the login
 * node over SSH, on this machine locally; never a job. It answers completion and inspection with
 * what the cells' environment knows (docs/introspection.md).
 *
 * It never delays or breaks a reply: while it is not ready (starting, died, not allowed to start
 * yet) a request resolves undefined at once, and one it is slow on resolves undefined after
 * `timeoutMs` — the session then answers as it would without it.
 */
import { posix } from "node:path";
import type { StreamedProcess, Transport } from "../../cluster/transport";
import { shellQuote } from "../../cluster/transport";
import { errorMessage } from "../../errors";
import { renderEnvironmentSetup, type EnvironmentSetup } from "../job-script";
import { installRunner } from "../runner-install";
import {
  asCompletion,
  asGreeting,
  asInspection,
  parseLine,
  type HelperCompletion,
  type HelperContext,
  type HelperInspection,
  type HelperRequest,
} from "./helper-protocol";

export const HELPER_ENTRY = "alpine_kernel_introspect.py";

export interface IntrospectionOptions {
  environment: EnvironmentSetup;
  /** The configured work directory: the helper is installed with the runner under it. */
  workDir: string;
  /** `bash -l` (needed for `module load`). */
  loginShell: boolean;
  /** How long a request waits for a ready helper before the session answers without it. */
  timeoutMs: number;
  /** Its CPU priority (0-19). */
  nice: number;
  /** Whether the helper may start now (over SSH: only once connected — never to open a login). */
  canStart(): boolean;
  log(message: string): void;
}

export type HelperState = "idle" | "starting" | "ready" | "down" | "closed";

/** Waits after the helper died or could not start, by consecutive failures. */
const RETRY_MS = [5_000, 30_000, 120_000, 600_000];

type Pending = (reply: Record<string, unknown> | undefined) => void;

export class IntrospectionHelper {
  private stateNow: HelperState = "idle";
  private proc: StreamedProcess | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private context: HelperContext | undefined;
  private failures = 0;
  private retryAt = 0;
  private buffered = "";

  constructor(
    private readonly transport: Transport,
    private readonly opts: IntrospectionOptions,
  ) {}

  get state(): HelperState {
    return this.stateNow;
  }

  /** What the session's namespace holds now; sent at once when ready, else when it is. */
  setContext(context: HelperContext): void {
    this.context = context;
    if (this.stateNow === "ready") this.send({ op: "context", ...context }, () => {});
    else this.ensureStarted();
  }

  async complete(code: string, cursor: number): Promise<HelperCompletion | undefined> {
    const reply = await this.ask({ op: "complete", code, cursor });
    return reply && asCompletion(reply);
  }

  async inspect(code: string, cursor: number, detail: number): Promise<HelperInspection | undefined> {
    const reply = await this.ask({ op: "inspect", code, cursor, detail });
    return reply && asInspection(reply);
  }

  close(): void {
    this.stateNow = "closed";
    this.proc?.close();
    this.proc = undefined;
    this.settleAll();
  }

  private ask(request: HelperRequest): Promise<Record<string, unknown> | undefined> {
    if (this.stateNow !== "ready") {
      this.ensureStarted();
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), this.opts.timeoutMs);
      const finish: Pending = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.send(request, finish);
    });
  }

  private send(request: HelperRequest, onReply: Pending): void {
    const id = ++this.nextId;
    this.pending.set(id, (reply) => {
      this.pending.delete(id);
      onReply(reply);
    });
    this.proc?.write(JSON.stringify({ id, ...request }) + "\n");
  }

  private ensureStarted(): void {
    if (this.stateNow === "starting" || this.stateNow === "ready" || this.stateNow === "closed") return;
    if (Date.now() < this.retryAt || !this.opts.canStart()) return;
    this.stateNow = "starting";
    this.start().catch((err: unknown) => this.down(`could not be started: ${errorMessage(err)}`));
  }

  private async start(): Promise<void> {
    const runner = await installRunner(this.transport, await this.transport.resolvePath(this.opts.workDir));
    const entry = posix.join(posix.dirname(runner), HELPER_ENTRY);
    const env = this.opts.environment;
    const script = [
      ...renderEnvironmentSetup(env),
      `exec ${shellQuote(env.python)} -u ${shellQuote(entry)} --nice ${Math.trunc(this.opts.nice)}`,
    ].join("\n");
    const proc = await this.transport.spawn(["bash", ...(this.opts.loginShell ? ["-l"] : []), "-c", script]);
    if (this.stateNow === "closed") return proc.close();
    this.proc = proc;
    this.buffered = "";
    proc.onStdout((chunk) => this.onStdout(chunk));
    void proc.exited.then((exit) => {
      if (this.proc !== proc) return;
      const why = proc.stderrTail().trim().split("\n").slice(-3).join(" | ");
      this.down(`exited (${exit.code ?? exit.signal ?? "cut off"})${why ? `: ${why}` : ""}`);
    });
  }

  private onStdout(chunk: Buffer): void {
    this.buffered += chunk.toString("utf8");
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const msg = parseLine(line);
      if (!msg) continue;
      if (this.stateNow === "starting") this.greeted(msg);
      else if (typeof msg.id === "number") {
        if (typeof msg.error === "string") this.opts.log(`introspection helper: ${msg.error}`);
        this.pending.get(msg.id)?.(typeof msg.error === "string" ? undefined : msg);
      }
    }
  }

  private greeted(msg: Record<string, unknown>): void {
    const greeting = asGreeting(msg);
    if (!greeting) return;
    if (!greeting.ready) {
      this.failures = RETRY_MS.length - 1; // nothing will change soon: try again much later
      this.opts.log(`introspection helper unavailable: ${greeting.error}`);
      this.proc?.close();
      return;
    }
    this.stateNow = "ready";
    this.failures = 0;
    this.opts.log(`introspection helper ready (jedi ${greeting.jedi}, Python ${greeting.python})`);
    if (this.context) this.send({ op: "context", ...this.context }, () => {});
  }

  private down(why: string): void {
    if (this.stateNow === "closed") return;
    this.proc = undefined;
    this.settleAll();
    this.retryAt = Date.now() + RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
    this.failures++;
    this.stateNow = "down";
    this.opts.log(`introspection helper ${why}; completion answers without it until it is back`);
  }

  private settleAll(): void {
    for (const settle of [...this.pending.values()]) settle(undefined);
  }
}
