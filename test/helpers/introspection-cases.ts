/**
 * The completion and inspection cases that alpine-kernel is held against ipykernel with (the test
 * test/integration/introspection-vs-ipykernel.test.ts and the bench bench/completion.ts): the same
 * setup cells run in both kernels, then the same requests. How two answers are compared is here too.
 */
import { DEBIAN_PYTHON, ROOT } from "./env";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export const SETUP_CELLS = [
  "import time, os, json, collections\nimport numpy as np\nimport pandas as pd\nfrom os import path",
  'df = pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})\nwords = ["x", "y"]\ncounts = collections.Counter(words)',
  [
    "def area(width, height=2):",
    '    """Area of a rectangle."""',
    "    return width * height",
    "",
    "class Point:",
    '    """A point in the plane."""',
    "    def __init__(self, x, y):",
    "        self.x = x",
    "        self.y = y",
    "    def norm(self):",
    '        """Distance from the origin."""',
    "        return (self.x ** 2 + self.y ** 2) ** 0.5",
    "",
    "pt = Point(3, 4)",
  ].join("\n"),
];

export type CaseGroup = "modules" | "attributes" | "DataFrame" | "imports" | "names" | "signatures";

export interface IntrospectionCase {
  group: CaseGroup;
  kind: "complete" | "inspect";
  code: string;
  cursor: number;
}

const complete = (group: CaseGroup, code: string): IntrospectionCase => ({
  group,
  kind: "complete",
  code,
  cursor: [...code].length,
});
const inspect = (code: string): IntrospectionCase => ({
  group: "signatures",
  kind: "inspect",
  code,
  cursor: [...code].length,
});

export const CASES: IntrospectionCase[] = [
  complete("modules", "time.sl"),
  complete("modules", "os.path.jo"),
  complete("modules", "np.me"),
  complete("modules", "np.linalg.no"),
  complete("modules", "json.lo"),
  complete("modules", "collections.Ord"),
  complete("modules", "pd.read_c"),
  complete("modules", "path.ex"),
  complete("attributes", "words.ap"),
  complete("attributes", "counts.most"),
  complete("attributes", "pt.no"),
  complete("attributes", "'abc'.upp"),
  complete("attributes", "x = [1, 2]\nx.ex"),
  complete("attributes", "words = 'abc'\nwords.up"),
  complete("DataFrame", "df.gr"),
  complete("DataFrame", "df.to_c"),
  complete("DataFrame", "df.des"),
  complete("DataFrame", "df.ilo"),
  complete("DataFrame", "df.a"),
  complete("DataFrame", "df.groupby('a').me"),
  complete("imports", "from os import pa"),
  complete("imports", "from collections import Def"),
  complete("imports", "import json.de"),
  complete("imports", "import collec"),
  complete("imports", "import os."),
  complete("imports", "from xml.e"),
  complete("names", "are"),
  complete("names", "Poi"),
  complete("names", "le"),
  complete("names", "isinst"),
  inspect("len("),
  inspect("print("),
  inspect("time.sleep("),
  inspect("area("),
  inspect("Point("),
  inspect("pt.norm("),
  inspect("df.groupby("),
  inspect("np.mean("),
  inspect("os.path.join("),
  inspect("json.dumps("),
];

export interface CaseAnswer {
  matches?: string[];
  cursor_start?: number;
  found?: boolean;
  text?: string;
  ms: number[];
}

export interface KernelAnswers {
  ready_s: number;
  answers: CaseAnswer[];
}

/** Asks a kernel (by kernelspec name) every case through Debian's jupyter_client. */
export function askKernel(
  kernel: string,
  env: NodeJS.ProcessEnv,
  cases: IntrospectionCase[],
  repeat = 1,
): KernelAnswers {
  const spec = {
    setup: SETUP_CELLS,
    ready: { code: "df.gr", expect: "groupby" },
    cases: cases.map(({ kind, code, cursor }) => ({ kind, code, cursor })),
    repeat,
  };
  const out = execFileSync(
    DEBIAN_PYTHON,
    [join(ROOT, "test", "python", "introspection_cases.py"), kernel, JSON.stringify(spec)],
    { env, encoding: "utf8", timeout: 600_000, stdio: ["ignore", "pipe", "pipe"] },
  );
  return JSON.parse(out) as KernelAnswers;
}

/** IPython's Inspector colours its titles with ANSI codes. */
// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Inspector text's fields: {"Signature": "len(obj, /)", "Docstring": "Return…", ...}. */
export function inspectorFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let current: string | undefined;
  for (const line of stripAnsi(text).split("\n")) {
    const m = /^([A-Z][A-Za-z ]+):(?:\s+(.*))?$/.exec(line);
    if (m && !line.startsWith(" ")) {
      current = m[1]!;
      fields[current] = (m[2] ?? "").trim();
    } else if (current) fields[current] = `${fields[current]}\n${line}`.trim();
  }
  return fields;
}

/** Whitespace does not count: IPython wraps long signatures over lines. */
const squash = (s: string | undefined): string => (s ?? "").replace(/\s+/g, "");

/**
 * Do two answers agree? Completion: the same set of Python matches (ipykernel's %magics, which
 * IPython offers for bare names and this kernel does not run, left out) from the same position.
 * Inspection: both found, the same signature, and the same first line of the docstring.
 */
export function agree(kase: IntrospectionCase, ours: CaseAnswer, theirs: CaseAnswer): boolean {
  if (kase.kind === "complete") {
    const python = (m: string[] = []) => [...new Set(m.filter((x) => !x.startsWith("%")))].sort();
    return (
      JSON.stringify(python(ours.matches)) === JSON.stringify(python(theirs.matches)) &&
      (python(theirs.matches).length === 0 || ours.cursor_start === theirs.cursor_start)
    );
  }
  if (!ours.found || !theirs.found) return ours.found === theirs.found;
  const a = inspectorFields(ours.text ?? "");
  const b = inspectorFields(theirs.text ?? "");
  const sig = (f: Record<string, string>) => squash(f.Signature ?? f["Init signature"]);
  const doc = (f: Record<string, string>) => (f.Docstring ?? "").split("\n")[0]!.trim();
  return sig(a) === sig(b) && doc(a) === doc(b);
}

/** p50/p95 of a list of milliseconds. */
export function percentiles(ms: number[]): { p50: number; p95: number } {
  const s = [...ms].sort((x, y) => x - y);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { p50: at(0.5), p95: at(0.95) };
}
