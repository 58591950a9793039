/**
 * The parts of nbformat 4 (https://nbformat.readthedocs.io/en/latest/format_description.html) that
 * headless runs read and write. Validated when a notebook is loaded.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../errors";
import { isObject } from "../protocol/validate";

export type Output =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string }
  | {
      output_type: "display_data";
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
      transient?: unknown;
    }
  | {
      output_type: "execute_result";
      execution_count: number;
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

export interface CodeCell {
  cell_type: "code";
  id?: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  execution_count: number | null;
  outputs: Output[];
}

export interface OtherCell {
  cell_type: "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown>;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: (CodeCell | OtherCell)[];
}

export function cellSource(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

export function assertNotebook(x: unknown, path: string): asserts x is Notebook {
  const bad = (why: string) =>
    new InputError("BAD_NOTEBOOK", `${path} is not a Jupyter notebook (nbformat 4): ${why}`);
  if (!isObject(x)) throw bad("not a JSON object");
  if (x.nbformat !== 4)
    throw bad(
      `nbformat is ${JSON.stringify(x.nbformat)}, expected 4 (convert it with \`jupyter nbconvert --to notebook\`)`,
    );
  if (!Array.isArray(x.cells)) throw bad("it has no cells list");
  if (!isObject(x.metadata)) x.metadata = {};
  x.cells.forEach((c, i) => {
    if (!isObject(c) || !["code", "markdown", "raw"].includes(String(c.cell_type)))
      throw bad(`cell ${i + 1} has no valid cell_type`);
    if (
      typeof c.source !== "string" &&
      !(Array.isArray(c.source) && c.source.every((s) => typeof s === "string"))
    ) {
      throw bad(`cell ${i + 1} has no source text`);
    }
    if (!isObject(c.metadata)) c.metadata = {};
    if (c.cell_type === "code") {
      c.outputs = [];
      c.execution_count = null;
    }
  });
}

export function readNotebook(path: string): Notebook {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new InputError("BAD_NOTEBOOK", `cannot read notebook ${path}: ${(err as Error).message}`);
  }
  assertNotebook(parsed, path);
  return parsed;
}
