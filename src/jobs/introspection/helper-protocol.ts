/**
 * The introspection helper's JSON-lines protocol (src/runner/alpine_kernel_introspect.py), typed and
 * checked at the boundary: a reply that does not have its fields is dropped, never trusted.
 */
import type { NameKinds } from "../runner-events";

/** What the helper is told about a session: each name's module or type, and the cells' code. */
export interface HelperContext extends NameKinds {
  cells: string[];
}

/** One completion's details, as IPython gives them (`_jupyter_types_experimental`). */
export interface CompletionDetail {
  start: number;
  end: number;
  text: string;
  type: string;
  signature: string;
}

/** Positions count unicode code points, as in the Jupyter protocol (and Python's strings). */
export interface HelperCompletion {
  matches: string[];
  start: number;
  end: number;
  details: CompletionDetail[];
}

export interface HelperInspection {
  found: boolean;
  data: Record<string, string>;
}

export type HelperRequest =
  | ({ op: "context" } & HelperContext)
  | { op: "complete"; code: string; cursor: number }
  | { op: "inspect"; code: string; cursor: number; detail: number };

/** The helper's first line: ready, or why it cannot be. */
export type HelperGreeting = { ready: true; jedi: string; python: string } | { ready: false; error: string };

type Json = Record<string, unknown>;

const isStr = (x: unknown): x is string => typeof x === "string";
const isInt = (x: unknown): x is number => Number.isInteger(x);
const isRecord = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

/** One line of the helper's output, or undefined when it is not JSON. */
export function parseLine(line: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function asGreeting(msg: Json): HelperGreeting | undefined {
  if (msg.ready === true && isStr(msg.jedi) && isStr(msg.python))
    return { ready: true, jedi: msg.jedi, python: msg.python };
  if (msg.ready === false) return { ready: false, error: isStr(msg.error) ? msg.error : "no reason given" };
  return undefined;
}

function asDetail(x: unknown): CompletionDetail | undefined {
  if (!isRecord(x)) return undefined;
  const { start, end, text, type, signature } = x;
  if (!isInt(start) || !isInt(end) || !isStr(text) || !isStr(type)) return undefined;
  return { start, end, text, type, signature: isStr(signature) ? signature : "" };
}

export function asCompletion(msg: Json): HelperCompletion | undefined {
  const { matches, start, end, types } = msg;
  if (!Array.isArray(matches) || !matches.every(isStr) || !isInt(start) || !isInt(end) || start > end)
    return undefined;
  const details = Array.isArray(types) ? types.map(asDetail) : [];
  return {
    matches,
    start,
    end,
    details: details.every((d) => d !== undefined) ? details : [],
  };
}

export function asInspection(msg: Json): HelperInspection | undefined {
  if (msg.found === false) return { found: false, data: {} };
  if (msg.found !== true || !isRecord(msg.data)) return undefined;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.data)) if (isStr(v)) data[k] = v;
  return isStr(data["text/plain"]) ? { found: true, data } : undefined;
}
