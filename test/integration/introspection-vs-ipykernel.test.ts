/**
 * Completion and Shift-Tab against ipykernel's own answers: Debian's ipykernel and alpine-kernel
 * (local backend, cells run by the same Debian Python) get the same setup cells and then the same
 * table of requests through Debian's jupyter_client. alpine-kernel never sees the values (they live
 * in the cells' jobs); its introspection helper works from the types the runner reported and the
 * cells' code. The table of answers and the agreement rate are written to
 * test-artifacts/introspection-agreement.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installKernelSpec, isolatedEnv, ROOT, type IsolatedEnv } from "../helpers/env";
import {
  CASES,
  agree,
  askKernel,
  stripAnsi,
  type CaseAnswer,
  type KernelAnswers,
} from "../helpers/introspection-cases";

let iso: IsolatedEnv;
let ours: KernelAnswers;
let theirs: KernelAnswers;

beforeAll(() => {
  iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
  installKernelSpec(iso.env);
  theirs = askKernel("python3", iso.env, CASES);
  ours = askKernel("alpine", iso.env, CASES);
}, 600_000);
afterAll(() => iso.cleanup());

const show = (a: CaseAnswer): string =>
  a.matches !== undefined
    ? a.matches.slice(0, 6).join(" ") + (a.matches.length > 6 ? ` …(${a.matches.length})` : "")
    : a.found
      ? stripAnsi(a.text ?? "")
          .split("\n")
          .slice(0, 2)
          .join(" ⏎ ")
          .slice(0, 90)
      : "(not found)";

test("agreement with ipykernel over the table of cases", () => {
  const rows = CASES.map((c, i) => ({ c, ours: ours.answers[i]!, theirs: theirs.answers[i]! }));
  const agreed = rows.filter((r) => agree(r.c, r.ours, r.theirs));
  const rate = agreed.length / rows.length;
  const table = [
    `# Completion and inspection: alpine-kernel vs ipykernel`,
    "",
    `Agreement: ${agreed.length}/${rows.length} = ${(rate * 100).toFixed(1)}%`,
    "",
    "| group | request | ipykernel | alpine-kernel | agree |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.c.group} | \`${r.c.kind} ${JSON.stringify(r.c.code)}\` | ${show(r.theirs)} | ${show(r.ours)} | ${agree(r.c, r.ours, r.theirs) ? "yes" : "**no**"} |`,
    ),
  ].join("\n");
  mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
  writeFileSync(join(ROOT, "test-artifacts", "introspection-agreement.md"), table + "\n");
  console.log(table);
  expect(rate).toBeGreaterThanOrEqual(0.8);
});

test.each([
  ["time.sl", "sleep"],
  ["df.gr", "groupby"],
  ["from os import pa", "path"],
  ["pt.no", "norm"],
  ["are", "area"],
])("must-have: %s → %s, as ipykernel", (code, want) => {
  const i = CASES.findIndex((c) => c.kind === "complete" && c.code === code);
  expect(theirs.answers[i]!.matches).toContain(want);
  expect(ours.answers[i]!.matches).toContain(want);
  expect(agree(CASES[i]!, ours.answers[i]!, theirs.answers[i]!)).toBe(true);
});

test.each([
  ["len(", "len(obj, /)"],
  ["area(", "area(width, height=2)"],
  ["Point(", "Point(x, y)"],
])("Shift-Tab on %s shows the signature %s and the docstring, as ipykernel", (code, sig) => {
  const i = CASES.findIndex((c) => c.kind === "inspect" && c.code === code);
  const text = stripAnsi(ours.answers[i]!.text ?? "");
  expect(text.replace(/\s+/g, "")).toContain(sig.replace(/\s+/g, ""));
  expect(agree(CASES[i]!, ours.answers[i]!, theirs.answers[i]!)).toBe(true);
});
