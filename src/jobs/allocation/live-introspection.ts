/**
 * Completion and inspection answered by the allocation's live Python: the real objects, so `df.`
 * lists the DataFrame's columns as ipykernel would. The same shapes as the jedi helper's answers
 * (positions in code points), so that the session can ask either; undefined when the allocation
 * is not ready or does not answer within `timeoutMs` (the session then answers without it).
 */
import type { Allocation } from "./allocation";

export interface CompletionDetail {
  start: number;
  end: number;
  text: string;
  type: string;
  signature: string;
}

export interface LiveCompletion {
  matches: string[];
  start: number;
  end: number;
  details: CompletionDetail[];
}

export interface LiveInspection {
  found: boolean;
  data: Record<string, string>;
}

type Json = Record<string, unknown>;
const isStr = (x: unknown): x is string => typeof x === "string";
const isInt = (x: unknown): x is number => Number.isInteger(x);
const isRecord = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

function asDetail(x: unknown): CompletionDetail | undefined {
  if (!isRecord(x)) return undefined;
  const { start, end, text, type, signature } = x;
  if (!isInt(start) || !isInt(end) || !isStr(text)) return undefined;
  return { start, end, text, type: isStr(type) ? type : "", signature: isStr(signature) ? signature : "" };
}

export function asCompletion(msg: Json): LiveCompletion | undefined {
  const { matches, start, end, types } = msg;
  if (!Array.isArray(matches) || !matches.every(isStr) || !isInt(start) || !isInt(end) || start > end)
    return undefined;
  const details = Array.isArray(types) ? types.map(asDetail) : [];
  return { matches, start, end, details: details.every((d) => d !== undefined) ? details : [] };
}

export function asInspection(msg: Json): LiveInspection | undefined {
  if (msg.found === false) return { found: false, data: {} };
  if (msg.found !== true || !isRecord(msg.data)) return undefined;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.data)) if (isStr(v)) data[k] = v;
  return isStr(data["text/plain"]) ? { found: true, data } : undefined;
}

let nextId = 0;
const requestId = () => `q${Date.now()}${++nextId}`;

export class LiveIntrospection {
  constructor(
    private readonly allocation: Allocation,
    /** jedi takes a second or more on the first completion of a new kind of object. */
    private readonly timeoutMs = 3000,
  ) {}

  async complete(code: string, cursor: number): Promise<LiveCompletion | undefined> {
    const reply = await this.allocation.ask(
      { kind: "complete", id: requestId(), code, cursor },
      this.timeoutMs,
    );
    return reply && asCompletion(reply);
  }

  async inspect(code: string, cursor: number, detail: number): Promise<LiveInspection | undefined> {
    const reply = await this.allocation.ask(
      { kind: "inspect", id: requestId(), code, cursor, detail },
      this.timeoutMs,
    );
    return reply && asInspection(reply);
  }
}
