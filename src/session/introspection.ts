/** complete_request and inspect_request: magics, their options, and Python names known to the session. */
import type { HelperCompletion } from "../jobs/introspection/helper-protocol";
import type { CompleteReply, InspectReply } from "../protocol/messages";
import { KERNEL_OPTIONS, MAGICS, SBATCH_OPTIONS, findMagic } from "../magics/registry";
import { PYTHON_BUILTINS, PYTHON_KEYWORDS, tokenAt, wordAround } from "./python-source";

/** A line the kernel itself answers for: a %magic, or %%slurm / #SBATCH options. */
export function isKernelLine(code: string, cursor: number): boolean {
  const lineStart = code.lastIndexOf("\n", Math.max(cursor - 1, 0)) + 1;
  const line = code.slice(lineStart, cursor);
  return /^\s*(%|#SBATCH\b)/.test(line) || /(^|[\s(=,])%\w*$/.test(line);
}

/** The answer of the jedi helper or of a live Python as a complete_reply (positions already in code points). */
export function completeWith(c: HelperCompletion): CompleteReply {
  return {
    status: "ok",
    matches: c.matches,
    cursor_start: c.start,
    cursor_end: c.end,
    metadata: { _jupyter_types_experimental: c.details },
  };
}

/** Names the previous cells left in the namespace, with their type names (from the runner). */
export type KnownNames = ReadonlyMap<string, string>;

export function complete(code: string, cursor: number, names: KnownNames): CompleteReply {
  const { token, start } = tokenAt(code, cursor);
  const lineStart = code.lastIndexOf("\n", cursor - 1) + 1;
  const line = code.slice(lineStart, cursor);
  let candidates: string[];
  let from = start;
  if (/^\s*%%?slurm\b/.test(line) && /(^|\s)-[-\w]*$/.test(line)) {
    const opt = /-[-\w]*$/.exec(line)![0];
    from = cursor - opt.length;
    candidates = [...SBATCH_OPTIONS, ...KERNEL_OPTIONS]
      .flatMap((o) => [o.long, ...(o.short ? [o.short] : [])])
      .filter((o) => o.startsWith(opt));
    return { status: "ok", matches: candidates, cursor_start: from, cursor_end: cursor, metadata: {} };
  }
  if (token.startsWith("%")) {
    candidates = MAGICS.map((m) => m.name).filter((m) => m.startsWith(token));
  } else if (token.includes(".")) {
    candidates = [];
  } else {
    const pool = [...names.keys(), ...PYTHON_KEYWORDS, ...PYTHON_BUILTINS];
    candidates = [...new Set(pool)].filter((n) => n.startsWith(token)).sort();
    if (token === "") candidates = candidates.filter((n) => names.has(n));
  }
  return { status: "ok", matches: candidates, cursor_start: from, cursor_end: cursor, metadata: {} };
}

export function inspect(code: string, cursor: number, names: KnownNames): InspectReply {
  const lineStart = code.lastIndexOf("\n", Math.max(cursor - 1, 0)) + 1;
  const magicWord = /^\s*(%%?\w+)/.exec(code.slice(lineStart))?.[1];
  const word = wordAround(code, cursor);
  const magic = findMagic(word.startsWith("%") ? word : (magicWord ?? ""));
  if (magic) {
    const text = `${magic.usage}\n\n${magic.help}`;
    return { status: "ok", found: true, data: { "text/plain": text }, metadata: {} };
  }
  const type = names.get(word);
  if (type) {
    const text = `${word}: ${type}\n(a name in this notebook's namespace; its value lives in the cells' job environment)`;
    return { status: "ok", found: true, data: { "text/plain": text }, metadata: {} };
  }
  if (PYTHON_BUILTINS.includes(word)) {
    const text = `${word}: a Python builtin\n(run \`${word}?\` in a cell for its documentation, shown in the pager)`;
    return { status: "ok", found: true, data: { "text/plain": text }, metadata: {} };
  }
  return { status: "ok", found: false, data: {}, metadata: {} };
}
