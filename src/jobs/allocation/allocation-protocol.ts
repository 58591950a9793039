/**
 * The allocation daemon's side of the contract (docs/allocation.md): the requests the server
 * writes into its requests/ directory and the events its supervisor appends to events.jsonl,
 * typed and checked as they are read. Unknown event types are skipped (a newer daemon may say more).
 */
import { InputError } from "../../errors";

/** Server → daemon: one JSON file per request. */
export type AllocationRequest =
  | {
      kind: "cell";
      seq: number;
      code: string;
      events: string;
      stdout: string;
      stderr: string;
      execution_count: number;
      silent: boolean;
      store_history: boolean;
      allow_stdin: boolean;
    }
  /** KeyboardInterrupt in the cell; a cell not started yet is withdrawn. */
  | { kind: "interrupt"; seq: number }
  /** Interrupt, and after `grace` seconds restart the Python if the cell still runs. */
  | { kind: "cancel"; seq: number; grace: number }
  | { kind: "save"; id: string; reason: string; if_dirty: boolean }
  /** When the allocation ends (epoch seconds): the namespace is saved `save_ahead` seconds before. */
  | { kind: "deadline"; end: number; save_ahead: number }
  | { kind: "release"; save: boolean }
  /** A kernel restart: a new Python with an empty namespace. */
  | { kind: "reset" }
  | { kind: "complete"; id: string; code: string; cursor: number }
  | { kind: "inspect"; id: string; code: string; cursor: number; detail: number };

/** How the worker ended (wait4), as the supervisor reports it. */
export interface WorkerExit {
  exit_code: number | null;
  signal: number;
  signal_name: string;
  maxrss_kb: number;
  /** The cgroup's OOM killer ended it (the allocation's --mem). */
  oom: boolean;
}

/** Daemon → server: one line of events.jsonl. */
export type AllocationEvent =
  | { type: "supervisor"; time: number; host: string; pid: number; job_id: string; python: string }
  | {
      type: "worker";
      time: number;
      generation: number;
      pid: number;
      ipython: boolean;
      dill: boolean;
      restored: number;
      problems: Record<string, string>;
      names: Record<string, string>;
      seconds: number;
    }
  | { type: "cell"; time: number; seq: number; generation: number }
  | { type: "done"; time: number; seq: number; ok: boolean }
  | { type: "withdrawn"; time: number; seq: number }
  | { type: "interrupted"; time: number; seq: number }
  | ({
      type: "died";
      time: number;
      generation: number;
      seq: number | null;
      during: "cell" | "idle" | "start";
      cancelled: boolean;
    } & WorkerExit)
  | {
      type: "saved";
      time: number;
      id: string;
      reason: string;
      /** Names written (absent when skipped or failed). */
      saved?: number;
      skipped?: Record<string, string> | string;
      bytes?: number;
      seconds?: number;
      error?: string;
    }
  | { type: "reset"; time: number }
  | { type: "ending"; time: number; reason: string }
  | { type: "exit"; time: number; reason: string };

export class AllocationEventError extends InputError {
  constructor(message: string) {
    super("BAD_ALLOCATION_EVENT", message);
  }
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === "string";
const isStrMap = (x: unknown): x is Record<string, string> => isObject(x) && Object.values(x).every(isStr);

function need(ok: boolean, what: string): void {
  if (!ok) throw new AllocationEventError(`allocation event: ${what}`);
}

/** Checks one parsed line; undefined for a type this server does not know. */
export function asAllocationEvent(e: unknown): AllocationEvent | undefined {
  need(isObject(e) && isStr((e as Json).type) && isNum((e as Json).time), "needs a type and a time");
  const ev = e as Json;
  switch (ev.type) {
    case "supervisor":
      need(isStr(ev.host) && isNum(ev.pid), "supervisor needs host and pid");
      ev.job_id = isStr(ev.job_id) ? ev.job_id : "";
      ev.python = isStr(ev.python) ? ev.python : "";
      break;
    case "worker":
      need(isNum(ev.generation) && isNum(ev.pid), "worker needs generation and pid");
      ev.restored = isNum(ev.restored) ? ev.restored : 0;
      ev.problems = isStrMap(ev.problems) ? ev.problems : {};
      ev.names = isStrMap(ev.names) ? ev.names : {};
      ev.seconds = isNum(ev.seconds) ? ev.seconds : 0;
      ev.ipython = ev.ipython === true;
      ev.dill = ev.dill === true;
      break;
    case "cell":
    case "done":
    case "withdrawn":
    case "interrupted":
      need(isNum(ev.seq), `${ev.type} needs seq`);
      if (ev.type === "done") ev.ok = ev.ok === true;
      if (ev.type === "cell") ev.generation = isNum(ev.generation) ? ev.generation : 0;
      break;
    case "died":
      need(isNum(ev.generation) && (ev.seq === null || isNum(ev.seq)), "died needs generation and seq");
      need(ev.during === "cell" || ev.during === "idle" || ev.during === "start", "died needs during");
      ev.exit_code = isNum(ev.exit_code) ? ev.exit_code : null;
      ev.signal = isNum(ev.signal) ? ev.signal : 0;
      ev.signal_name = isStr(ev.signal_name) ? ev.signal_name : "";
      ev.maxrss_kb = isNum(ev.maxrss_kb) ? ev.maxrss_kb : 0;
      ev.oom = ev.oom === true;
      ev.cancelled = ev.cancelled === true;
      break;
    case "saved":
      need(isStr(ev.id) || ev.id === null, "saved needs an id");
      ev.id = isStr(ev.id) ? ev.id : "";
      ev.reason = isStr(ev.reason) ? ev.reason : "";
      need(ev.saved === undefined || isNum(ev.saved), "saved: saved must be a number");
      need(ev.skipped === undefined || isStr(ev.skipped) || isStrMap(ev.skipped), "saved: bad skipped");
      need(ev.error === undefined || isStr(ev.error), "saved: bad error");
      break;
    case "reset":
      break;
    case "ending":
    case "exit":
      ev.reason = isStr(ev.reason) ? ev.reason : "";
      break;
    default:
      return undefined;
  }
  return ev as AllocationEvent;
}

/** Complete lines of a chunk of events.jsonl → events, and the lines that were not events. */
export function parseAllocationEvents(text: string): { events: AllocationEvent[]; bad: string[] } {
  const events: AllocationEvent[] = [];
  const bad: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const ev = asAllocationEvent(JSON.parse(line));
      if (ev) events.push(ev);
    } catch (err) {
      bad.push(`${(err as Error).message}: ${line.slice(0, 200)}`);
    }
  }
  return { events, bad };
}

/** A reply file of a completion or inspection request: the fields checked by the caller. */
export function parseReply(text: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
