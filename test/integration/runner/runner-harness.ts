/**
 * Runs the real cell runner (src/runner/alpine_kernel_runner.py) with real interpreters on temp
 * files, and reads its events file with the server's own parser (src/jobs/runner-events.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseRunnerEvents, type RunnerEvent } from "../../../src/jobs/runner-events";
import { DEBIAN_PYTHON } from "../../helpers/env";

export const RUNNER = resolve(__dirname, "..", "..", "..", "src", "runner", "alpine_kernel_runner.py");

/** Debian's Python 3.11: IPython 8, dill, numpy, pandas, matplotlib. */
export const IPYTHON: readonly string[] = [DEBIAN_PYTHON];

function hasModule(python: readonly string[], module: string): boolean {
  const [cmd, ...args] = python;
  const r = spawnSync(cmd!, [...args, "-c", `import ${module}`], { stdio: "ignore" });
  if (r.error) return false;
  return r.status === 0;
}

let plain: readonly string[] | undefined;
/**
 * An interpreter that cannot import IPython or dill, for the stdlib-only path: the one named by
 * ALPINE_KERNEL_TEST_PLAIN_PYTHON, else `python3` on PATH if it lacks both, else Debian's Python
 * with -S (no site-packages: exactly the standard library).
 */
export function plainPython(): readonly string[] {
  if (plain) return plain;
  const candidates: string[][] = [];
  if (process.env.ALPINE_KERNEL_TEST_PLAIN_PYTHON)
    candidates.push([process.env.ALPINE_KERNEL_TEST_PLAIN_PYTHON]);
  candidates.push(["python3"], [DEBIAN_PYTHON, "-S"]);
  plain = candidates.find((c) => hasModule(c, "sys") && !hasModule(c, "IPython") && !hasModule(c, "dill"));
  if (!plain)
    throw new Error("no Python without IPython and dill found (set ALPINE_KERNEL_TEST_PLAIN_PYTHON)");
  return plain;
}

export interface CellOptions {
  executionCount?: number;
  /** Pass --namespace-in and --namespace-out with this file (in the cell's directory). */
  namespace?: string;
  allowStdin?: boolean;
  silent?: boolean;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface CellResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  events: RunnerEvent[];
  stdout: string;
  stderr: string;
}

export interface RunningCell {
  child: ChildProcess;
  eventsPath: string;
  /** Resolves with the first event (already written or still to come) that matches. */
  waitFor(match: (e: RunnerEvent) => boolean, timeoutMs?: number): Promise<RunnerEvent>;
  finished: Promise<CellResult>;
}

/** A directory for a sequence of cells (they share the namespace file). */
export class CellDir {
  readonly dir = mkdtempSync(join(tmpdir(), "ak-runner-"));
  private cells = 0;

  path(name: string): string {
    return join(this.dir, name);
  }

  start(python: readonly string[], code: string, opts: CellOptions = {}): RunningCell {
    const n = ++this.cells;
    const codePath = this.path(`cell${n}.py`);
    const eventsPath = this.path(`cell${n}.events.jsonl`);
    writeFileSync(codePath, code);
    const args = [...python.slice(1), "-u", RUNNER, "--code", codePath, "--events", eventsPath];
    args.push("--execution-count", String(opts.executionCount ?? n));
    if (opts.namespace)
      args.push("--namespace-in", this.path(opts.namespace), "--namespace-out", this.path(opts.namespace));
    if (opts.allowStdin) args.push("--allow-stdin");
    if (opts.silent) args.push("--silent");
    args.push(...(opts.extraArgs ?? []));
    const env = { ...process.env, ...opts.env };
    if (!opts.env?.MPLBACKEND) delete env.MPLBACKEND;
    const child = spawn(python[0]!, args, { cwd: this.dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const finished = new Promise<CellResult>((res, rej) => {
      child.on("error", rej);
      child.on("close", (exitCode, signal) =>
        res({ exitCode, signal, events: readEvents(eventsPath), stdout, stderr }),
      );
    });
    const waitFor = async (match: (e: RunnerEvent) => boolean, timeoutMs = 15000): Promise<RunnerEvent> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const exited = child.exitCode !== null || child.signalCode !== null;
        const events = readEvents(eventsPath);
        const found = events.find(match);
        if (found) return found;
        if (exited)
          throw new Error(`runner exited before the event came: ${JSON.stringify(events)} ${stderr}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for an event in ${eventsPath}`);
        await sleep(5);
      }
    };
    return { child, eventsPath, waitFor, finished };
  }

  run(python: readonly string[], code: string, opts: CellOptions = {}): Promise<CellResult> {
    return this.start(python, code, opts).finished;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function readEvents(path: string): RunnerEvent[] {
  if (!existsSync(path)) return [];
  const { events, bad } = parseRunnerEvents(readFileSync(path, "utf8"));
  if (bad.length) throw new Error(`invalid runner events: ${bad.join("; ")}`);
  return events;
}

/** Writes an input reply the way the server does: temp file, then rename. */
export function writeInputReply(
  eventsPath: string,
  seq: number,
  reply: { value: string } | { error: string },
): void {
  const target = `${eventsPath}.input.${seq}`;
  writeFileSync(`${target}.tmp`, JSON.stringify(reply));
  renameSync(`${target}.tmp`, target);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The event type(s) with this `type` (display_data and update_display_data share one member). */
export type EventOf<T extends RunnerEvent["type"]> = RunnerEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E & { type: T }
      : never
    : never
  : never;

export function ofType<T extends RunnerEvent["type"]>(events: RunnerEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

export function only<T extends RunnerEvent["type"]>(events: RunnerEvent[], type: T): EventOf<T> {
  const found = ofType(events, type);
  if (found.length !== 1)
    throw new Error(`expected one ${type} event, got ${found.length}: ${JSON.stringify(events)}`);
  return found[0]!;
}

/** The text of all stream events of one name, concatenated (what the notebook shows). */
export function streamText(events: RunnerEvent[], name: "stdout" | "stderr"): string {
  return ofType(events, "stream")
    .filter((e) => e.name === name)
    .map((e) => e.text)
    .join("");
}

/** An error event's traceback as plain text (IPython colours it with ANSI escapes). */
export function tracebackText(e: { traceback: string[] }): string {
  // eslint-disable-next-line no-control-regex
  return e.traceback.join("\n").replace(/\x1b\[[0-9;]*m/g, "");
}

/** The event types in order, without the stream events (their split is the interpreter's). */
export function shape(events: RunnerEvent[]): string[] {
  return events.filter((e) => e.type !== "stream").map((e) => e.type);
}
