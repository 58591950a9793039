/**
 * One handler per request msg_type that is answered at once (execute, interrupt and shutdown are
 * the session's own). A handler that throws becomes an error reply (see Session.answer).
 */
import type { LiveCompletion, LiveInspection } from "../jobs/allocation/live-introspection";
import type { ContentByType, HistoryEntry, Message, RequestMessage } from "../protocol/messages";
import { InputError } from "../errors";
import type { IntrospectionHelper } from "../jobs/introspection/introspection-helper";
import { codeTooLarge } from "./code-limit";
import { compileGlob } from "./glob";
import { complete, completeWith, inspect, isKernelLine } from "./introspection";
import { kernelInfo, type KernelPython } from "./kernel-info";
import { isComplete } from "./python-source";

/** What the handlers read from their session. */
export interface HandlerSession {
  readonly env: {
    scheduler: { kind: string };
    config: { server: { max_cell_code_mib: number } };
  };
  /** The cells' Python, within `waitMs` (kernel_info must answer fast). */
  kernelPython(waitMs: number): Promise<KernelPython>;
  readonly history: readonly [number, string][];
  readonly names: ReadonlyMap<string, string>;
  readonly comms: { info(target?: string): Record<string, { target_name: string }> };
  /** jedi in the cells' environment, when there is one (it answers undefined when it cannot). */
  readonly introspection?: Pick<IntrospectionHelper, "complete" | "inspect">;
  /** A held allocation: its live Python answers completion and inspection while it is ready. */
  readonly allocation?: { introspection(): Introspector | undefined };
}

/** The live Python of a held allocation, else the session's jedi helper. */
const introspector = (s: HandlerSession): Introspector | undefined =>
  s.allocation?.introspection() ?? s.introspection;

/** What answers completion and inspection from real objects; undefined when it cannot. */
interface Introspector {
  complete(code: string, cursor: number): Promise<LiveCompletion | undefined>;
  inspect(code: string, cursor: number, detail: number): Promise<LiveInspection | undefined>;
}

type Answered = Exclude<
  RequestMessage["header"]["msg_type"],
  "execute_request" | "interrupt_request" | "shutdown_request"
>;
type ReplyOf<T extends Answered> = T extends `${infer B}_request` ? `${B}_reply` : never;
type Handler<T extends Answered> = (
  session: HandlerSession,
  req: Message<T>,
) => Promise<ContentByType[ReplyOf<T> & keyof ContentByType]>;

const HANDLERS: { [T in Answered]: Handler<T> } = {
  // Jupyter gives a kernel 60 s to answer kernel_info: never wait on the cluster for it.
  kernel_info_request: async (s) => kernelInfo(await s.kernelPython(3000), s.env.scheduler.kind),
  is_complete_request: async (_s, req) => isComplete(req.content.code),
  complete_request: async (s, { content: { code, cursor_pos } }) => {
    const at = jsIndex(code, cursor_pos);
    // Magics and %%slurm options are the kernel's own; Python goes to a held allocation's live
    // process when there is one, else to jedi when it answers.
    const helped = isKernelLine(code, at) ? undefined : await introspector(s)?.complete(code, cursor_pos);
    if (helped) return completeWith(helped);
    const r = complete(code, at, s.names);
    return r.status === "ok"
      ? { ...r, cursor_start: codePoints(code, r.cursor_start), cursor_end: codePoints(code, r.cursor_end) }
      : r;
  },
  inspect_request: async (s, { content: { code, cursor_pos, detail_level } }) => {
    const at = jsIndex(code, cursor_pos);
    const helped = isKernelLine(code, at)
      ? undefined
      : await introspector(s)?.inspect(code, cursor_pos, detail_level ?? 0);
    if (helped?.found) return { status: "ok", found: true, data: helped.data, metadata: {} };
    return inspect(code, at, s.names);
  },
  comm_info_request: async (s, req) => ({ status: "ok", comms: s.comms.info(req.content.target_name) }),
  history_request: async (s, req) => ({ status: "ok", history: history(s.history, req.content) }),
};

/** Protocol 5.2+: cursor positions count unicode code points, JS strings index UTF-16 units. */
function jsIndex(code: string, points: number): number {
  let i = 0;
  for (let n = 0; n < points && i < code.length; n++) i += code.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}
function codePoints(code: string, index: number): number {
  return [...code.slice(0, index)].length;
}

/** A search costs about (history size × ⌈pattern length / 32⌉) steps: keep the second factor small. */
const MAX_PATTERN_LENGTH = 1024;

function history(all: readonly [number, string][], q: ContentByType["history_request"]): HistoryEntry[] {
  let picked: readonly (readonly [number, string])[] = all;
  if (q.hist_access_type === "tail") picked = all.slice(Math.max(all.length - (q.n ?? 10), 0));
  else if (q.hist_access_type === "range") {
    const start = q.start ?? 0;
    const stop = q.stop ?? Number.MAX_SAFE_INTEGER;
    picked = all.filter(([n]) => n >= start && n < stop);
  } else if (q.hist_access_type === "search") {
    const pattern = q.pattern ?? "*";
    if (pattern.length > MAX_PATTERN_LENGTH)
      throw new InputError(
        "BAD_HISTORY_PATTERN",
        `the history search pattern is ${pattern.length} characters long, over the limit of ${MAX_PATTERN_LENGTH}: search for a shorter part of it, between stars (*part*)`,
      );
    const glob = compileGlob(pattern);
    picked = all.filter(([, code]) => glob.test(code));
    if (q.unique) picked = [...new Map(picked.map((e) => [e[1], e])).values()];
    if (q.n) picked = picked.slice(-q.n);
  }
  return picked.map(([n, code]) => (q.output ? [0, n, [code, null]] : [0, n, code]));
}

export async function handleRequest(
  session: HandlerSession,
  req: RequestMessage,
): Promise<{ type: keyof ContentByType; content: ContentByType[keyof ContentByType] }> {
  const type = req.header.msg_type as Answered;
  const handler = HANDLERS[type] as Handler<Answered> | undefined;
  if (!handler) throw new Error(`no handler for ${type}`);
  const code = (req.content as { code?: unknown }).code; // complete, inspect, is_complete
  const tooLarge =
    typeof code === "string" && codeTooLarge(code, session.env.config.server.max_cell_code_mib);
  if (tooLarge) throw tooLarge;
  const content = await handler(session, req as Message<Answered>);
  return { type: type.replace(/_request$/, "_reply") as keyof ContentByType, content };
}
