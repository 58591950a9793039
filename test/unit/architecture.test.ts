/**
 * The layers of docs/architecture.md, kept by the code: every import in src/ points down (or to a
 * leaf), the scheduler layer knows nothing of Jupyter, and the session touches the cluster only
 * through the jobs layer.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(__dirname, "..", "..", "src");
const LEAVES = ["errors", "version", "process-alive"];

/** Folder → the folders its files may import (besides their own folder and the leaves). */
const MAY_IMPORT: Record<string, string[]> = {
  cli: [
    "setup",
    "server",
    "kernel",
    "notebook",
    "session",
    "cells",
    "magics",
    "jobs",
    "cluster",
    "protocol",
    "config",
    "ledger",
  ],
  setup: ["kernel", "session", "magics", "jobs", "cluster", "config"],
  server: ["kernel", "session", "cells", "magics", "jobs", "cluster", "protocol", "config", "ledger"],
  notebook: ["kernel", "session", "protocol", "config"],
  kernel: ["protocol", "config"],
  session: ["cells", "magics", "jobs", "cluster", "protocol", "config", "ledger"],
  cells: ["jobs", "protocol", "ledger"],
  magics: ["jobs"],
  jobs: ["cluster", "config"],
  cluster: ["config"],
  protocol: [],
  config: [],
  ledger: [],
};

interface Import {
  file: string;
  target: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const IMPORTS: Import[] = sources(SRC).flatMap((file) => {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => ({
    file: relative(SRC, file),
    target: relative(SRC, resolve(dirname(file), m[2]!)),
    typeOnly: Boolean(m[1]),
  }));
});

const top = (path: string) => path.split("/")[0]!;

test("the import scan sees the code (a scan that finds nothing checks nothing)", () => {
  expect(IMPORTS.length).toBeGreaterThan(300);
  expect(IMPORTS.some((i) => i.file === "session/session.ts" && i.target === "cells/cell")).toBe(true);
});

test("every folder is placed in a layer", () => {
  const folders = new Set(
    IMPORTS.map((i) => top(i.file)).filter((f) => !LEAVES.includes(f.replace(/\.ts$/, ""))),
  );
  for (const f of folders) expect(Object.keys(MAY_IMPORT)).toContain(f);
});

test("imports point down the layers, or to a leaf", () => {
  const wrong = IMPORTS.filter((i) => {
    const from = top(i.file);
    const to = top(i.target);
    if (from === to || LEAVES.includes(to)) return false;
    return !(MAY_IMPORT[from] ?? []).includes(to);
  }).map((i) => `${i.file} → ${i.target}`);
  expect(wrong).toEqual([]);
});

test("the scheduler layer (jobs/) knows nothing of Jupyter", () => {
  const wrong = IMPORTS.filter((i) => i.file.startsWith("jobs/") && top(i.target) === "protocol");
  expect(wrong).toEqual([]);
});

test("the session does no transport I/O: of the cluster it sees only the login prompts' types", () => {
  const wrong = IMPORTS.filter(
    (i) =>
      i.file.startsWith("session/") &&
      top(i.target) === "cluster" &&
      !(i.typeOnly && i.target === "cluster/prompts"),
  ).map((i) => `${i.file} → ${i.target}`);
  expect(wrong).toEqual([]);
});
