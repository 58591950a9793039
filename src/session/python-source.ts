/**
 * What the kernel can tell about Python source without running it: is a cell complete (for
 * terminal frontends), and the word under the cursor (for completion and inspection).
 */
import type { IsCompleteReply } from "../protocol/messages";
import { parser as pythonParser } from "@lezer/python";

const BLOCK_OPENERS =
  /^(if|elif|else|for|while|try|except|finally|with|def|class|async\s+(def|for|with)|match|case)\b.*:\s*(#.*)?$/;

/** Tracks brackets and strings through the code; returns the open state at the end. */
function scan(code: string): {
  depth: number;
  inString: string | null;
  bad: boolean;
  endsInComment: boolean;
} {
  const stack: string[] = [];
  let inString: string | null = null;
  let bad = false;
  let endsInComment = false;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (inString) {
      if (c === "\\") {
        i++;
        continue;
      }
      if (code.startsWith(inString, i)) {
        i += inString.length - 1;
        inString = null;
      } else if (c === "\n" && inString.length === 1) {
        inString = null;
        bad = true;
      }
      continue;
    }
    if (c === "#") {
      while (i < code.length && code[i] !== "\n") i++;
      endsInComment = i >= code.length;
      continue;
    }
    if (c === '"' || c === "'") {
      inString = code.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += inString.length - 1;
      continue;
    }
    if ("([{".includes(c)) stack.push(c);
    else if (")]}".includes(c)) {
      const open = stack.pop();
      if (!open || "([{".indexOf(open) !== ")]}".indexOf(c)) bad = true;
    }
  }
  return { depth: stack.length, inString, bad, endsInComment };
}

/** IPython's own syntax (magics, `!cmd`, `x?`) is not Python: a plain statement stands in for it. */
function withoutIPythonSyntax(code: string): string {
  return code
    .split("\n")
    .map((l) => {
      const indent = /^\s*/.exec(l)![0];
      const body = l.slice(indent.length);
      const ipython =
        /^[%!]/.test(body) || /^[\w.]*\?{1,2}\s*$/.test(body) || /^[\w.,\s]+=\s*[%!]/.test(body);
      return ipython ? `${indent}pass` : l;
    })
    .join("\n");
}

/** A syntax error Python would raise, found with a real Python grammar (lezer's, CodeMirror's). */
function hasSyntaxError(code: string): boolean {
  let error = false;
  pythonParser.parse(withoutIPythonSyntax(code)).iterate({
    enter: (n) => {
      if (n.type.isError) error = true;
      return !error;
    },
  });
  return error;
}

export function isComplete(code: string): IsCompleteReply {
  if (!code.trim()) return { status: "complete" };
  // A cell magic takes every line below it: the cell ends with a blank line, as in IPython.
  if (code.trimStart().startsWith("%%"))
    return /\n[ \t]*\n[ \t]*$/.test(code) ? { status: "complete" } : { status: "incomplete", indent: "" };
  const { depth, inString, bad, endsInComment } = scan(code);
  if (bad) return { status: "invalid" };
  const lines = code.split("\n");
  const last = lines[lines.length - 1] ?? "";
  const indentOf = (l: string) => /^\s*/.exec(l)?.[0] ?? "";
  if (inString && inString.length === 3) return { status: "incomplete", indent: "" };
  const continued = code.endsWith("\\") && !endsInComment;
  if (inString && !continued) return { status: "invalid" }; // a one-line string left open
  if (depth > 0 || continued) return { status: "incomplete", indent: indentOf(last) };
  const lastCode = [...lines].reverse().find((l) => l.trim()) ?? "";
  if (BLOCK_OPENERS.test(lastCode.trim()))
    return { status: "incomplete", indent: indentOf(lastCode) + "    " };
  // Inside a block the user finishes it with an empty line, as in IPython.
  if (lines.length > 1 && /^\s+\S/.test(last)) return { status: "incomplete", indent: indentOf(last) };
  return hasSyntaxError(code) ? { status: "invalid" } : { status: "complete" };
}

/** The identifier-ish token ending at `cursor` (letters, digits, _, ., % for magics). */
export function tokenAt(code: string, cursor: number): { token: string; start: number; end: number } {
  let start = cursor;
  while (start > 0 && /[\w.%]/.test(code[start - 1]!)) start--;
  let end = cursor;
  while (end < code.length && /\w/.test(code[end]!)) end++;
  return { token: code.slice(start, cursor), start, end };
}

/** The whole word around the cursor, for inspection. */
export function wordAround(code: string, cursor: number): string {
  const { start, end } = tokenAt(code, cursor);
  return code.slice(start, end);
}

export const PYTHON_KEYWORDS = [
  "False",
  "None",
  "True",
  "and",
  "as",
  "assert",
  "async",
  "await",
  "break",
  "class",
  "continue",
  "def",
  "del",
  "elif",
  "else",
  "except",
  "finally",
  "for",
  "from",
  "global",
  "if",
  "import",
  "in",
  "is",
  "lambda",
  "nonlocal",
  "not",
  "or",
  "pass",
  "raise",
  "return",
  "try",
  "while",
  "with",
  "yield",
];

export const PYTHON_BUILTINS = [
  "abs",
  "all",
  "any",
  "ascii",
  "bin",
  "bool",
  "breakpoint",
  "bytearray",
  "bytes",
  "callable",
  "chr",
  "classmethod",
  "compile",
  "complex",
  "delattr",
  "dict",
  "dir",
  "divmod",
  "enumerate",
  "eval",
  "exec",
  "filter",
  "float",
  "format",
  "frozenset",
  "getattr",
  "globals",
  "hasattr",
  "hash",
  "help",
  "hex",
  "id",
  "input",
  "int",
  "isinstance",
  "issubclass",
  "iter",
  "len",
  "list",
  "locals",
  "map",
  "max",
  "memoryview",
  "min",
  "next",
  "object",
  "oct",
  "open",
  "ord",
  "pow",
  "print",
  "property",
  "range",
  "repr",
  "reversed",
  "round",
  "set",
  "setattr",
  "slice",
  "sorted",
  "staticmethod",
  "str",
  "sum",
  "super",
  "tuple",
  "type",
  "vars",
  "zip",
  "display",
  "Exception",
  "ValueError",
  "TypeError",
  "KeyError",
  "IndexError",
  "RuntimeError",
  "KeyboardInterrupt",
];
