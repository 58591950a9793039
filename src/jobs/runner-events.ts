/**
 * The runner's side of the contract: the events it writes to its events file
 * (docs/cell-runner.md), validated as they are read. Bundles and tracebacks are kept as the runner
 * wrote them; what they become in a frontend is the session's business.
 */
import { InputError } from "../errors";

type JsonObject = Record<string, unknown>;
/** MIME type → data, as IPython's display formatter produces it. */
export type MimeBundle = Record<string, unknown>;

/** The runner's account of an exception raised in the cell (Python's names, traceback lines). */
export interface RunnerError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** An events-file line that is not a runner event. */
export class RunnerEventError extends InputError {
  constructor(message: string) {
    super("BAD_RUNNER_EVENT", message);
  }
}

/** The `namespace` event's numbers (docs/cell-runner.md), each optional: older runners wrote fewer. */
export const NAMESPACE_NUMBERS = [
  "bytes",
  "seconds",
  "written",
  "written_bytes",
  "deleted",
  "total",
  "loaded",
  "loaded_bytes",
  "mapped_bytes",
  "load_seconds",
] as const;
/** Counters of /proc/self/io the runner reports (bytes through system calls, and to/from storage). */
type IoCounter = "rchar" | "wchar" | "read_bytes" | "write_bytes";

const isObject = (x: unknown): x is JsonObject => typeof x === "object" && x !== null && !Array.isArray(x);

/** What each name of the namespace is, without its value (for the introspection helper). */
export interface NameKinds {
  modules: Record<string, string>;
  types: Record<string, string>;
}

export type RunnerEvent =
  | {
      type: "start";
      time: number;
      host: string;
      pid: number;
      python: string;
      ipython: boolean;
      dill: boolean;
      job_id?: string;
    }
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  | {
      type: "display_data" | "update_display_data";
      data: MimeBundle;
      metadata: JsonObject;
      transient: { display_id?: string };
    }
  | { type: "clear_output"; wait: boolean }
  /** IPython's pager (`obj?`): what to show, from line `start`. */
  | { type: "page"; data: MimeBundle; start: number }
  | { type: "execute_result"; execution_count: number; data: MimeBundle; metadata: JsonObject }
  | ({ type: "error" } & RunnerError)
  | { type: "input_request"; seq: number; prompt: string; password: boolean }
  | ({
      type: "namespace";
      /** Names carried to the next cell (0 for a detached cell, which saves nothing: `read_only`). */
      saved: number;
      skipped: Record<string, string>;
      names?: Record<string, string>;
      read_only?: boolean;
      /** /proc/self/io of the cell's process when the event was written. */
      io?: Partial<Record<IoCounter, number>>;
      /** Names bound to modules, with the module's name (`{"np": "numpy"}`). */
      modules?: Record<string, string>;
      /** Every other carried name's type as `module:qualname` (`pandas.core.frame:DataFrame`). */
      types?: Record<string, string>;
    } & Partial<Record<(typeof NAMESPACE_NUMBERS)[number], number>>)
  | { type: "end"; status: "ok" | "error"; time: number; maxrss_kb?: number };

function need(ok: boolean, what: string): void {
  if (!ok) throw new RunnerEventError(`runner event: ${what}`);
}

const isStr = (x: unknown): x is string => typeof x === "string";
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

export function assertRunnerEvent(e: unknown): asserts e is RunnerEvent {
  need(isObject(e), "not a JSON object");
  const ev = e as JsonObject;
  switch (ev.type) {
    case "start":
      need(isNum(ev.time) && isStr(ev.python), "start needs time and python");
      return;
    case "stream":
      need((ev.name === "stdout" || ev.name === "stderr") && isStr(ev.text), "stream needs name and text");
      return;
    case "display_data":
    case "update_display_data":
    case "execute_result":
      need(isObject(ev.data), `${ev.type} needs a data bundle`);
      if (!isObject(ev.metadata)) ev.metadata = {};
      if (ev.type !== "execute_result" && !isObject(ev.transient)) ev.transient = {};
      return;
    case "clear_output":
      ev.wait = ev.wait === true;
      return;
    case "page":
      need(isObject(ev.data), "page needs a data bundle");
      if (!isNum(ev.start)) ev.start = 0;
      return;
    case "error":
      need(
        isStr(ev.ename) && isStr(ev.evalue) && Array.isArray(ev.traceback),
        "error needs ename, evalue, traceback",
      );
      ev.traceback = (ev.traceback as unknown[]).map(String);
      return;
    case "input_request":
      need(isNum(ev.seq) && isStr(ev.prompt), "input_request needs seq and prompt");
      ev.password = ev.password === true;
      return;
    case "namespace":
      need(isNum(ev.saved) && isObject(ev.skipped), "namespace needs saved and skipped");
      if (ev.names !== undefined) {
        need(
          isObject(ev.names) && Object.values(ev.names).every(isStr),
          "namespace names must map names to type names",
        );
      }
      for (const key of NAMESPACE_NUMBERS)
        need(ev[key] === undefined || (isNum(ev[key]) && ev[key] >= 0), `namespace ${key} must be a number`);
      if (ev.io !== undefined)
        need(
          isObject(ev.io) && Object.values(ev.io).every(isNum),
          "namespace io must map counters to numbers",
        );
      for (const key of ["modules", "types"] as const)
        need(
          ev[key] === undefined || (isObject(ev[key]) && Object.values(ev[key]).every(isStr)),
          `namespace ${key} must map names to strings`,
        );
      return;
    case "end":
      need(ev.status === "ok" || ev.status === "error", "end needs status ok or error");
      return;
    default:
      throw new RunnerEventError(`runner event: unknown type ${JSON.stringify(ev.type)}`);
  }
}

/** Splits complete lines off a chunk; returns the events and the unfinished tail. */
export function parseRunnerEvents(text: string): { events: RunnerEvent[]; rest: string; bad: string[] } {
  const events: RunnerEvent[] = [];
  const bad: string[] = [];
  const end = text.lastIndexOf("\n");
  if (end < 0) return { events, rest: text, bad };
  for (const line of text.slice(0, end).split("\n")) {
    if (!line.trim()) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      assertRunnerEvent(parsed);
      events.push(parsed);
    } catch (err) {
      bad.push(`${(err as Error).message}: ${line.slice(0, 200)}`);
    }
  }
  return { events, rest: text.slice(end + 1), bad };
}
