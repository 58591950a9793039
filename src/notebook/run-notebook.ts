/**
 * `alpine-kernel run NOTEBOOK`: executes every code cell through the server, as nbconvert would,
 * and writes the notebook with its outputs. Progress goes to stderr; a failing cell stops the run
 * (unless allowErrors) and makes the exit status non-zero.
 */
import { writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { RawMessage } from "../protocol/messages";
import { kernelInfo } from "../session/kernel-info";
import { KernelClient, type ServerAddress } from "./kernel-client";
import { cellSource, readNotebook, type CodeCell, type Notebook, type Output } from "./nbformat";

export interface RunResult {
  output: string;
  cells: number;
  failedCell?: number;
  seconds: number;
}

function applyOutput(
  cell: CodeCell,
  msg: RawMessage,
  displays: Map<string, Output[]>,
  clearPending: { v: boolean },
): void {
  const c = msg.content;
  const type = msg.header.msg_type;
  if (type !== "clear_output" && clearPending.v) {
    cell.outputs = [];
    clearPending.v = false;
  }
  switch (type) {
    case "stream": {
      const last = cell.outputs[cell.outputs.length - 1];
      if (last?.output_type === "stream" && last.name === c.name) last.text += String(c.text);
      else
        cell.outputs.push({
          output_type: "stream",
          name: c.name === "stderr" ? "stderr" : "stdout",
          text: String(c.text),
        });
      return;
    }
    case "display_data":
    case "execute_result": {
      const out: Output =
        type === "execute_result"
          ? {
              output_type: "execute_result",
              execution_count: Number(c.execution_count),
              data: c.data as Record<string, unknown>,
              metadata: (c.metadata ?? {}) as Record<string, unknown>,
            }
          : {
              output_type: "display_data",
              data: c.data as Record<string, unknown>,
              metadata: (c.metadata ?? {}) as Record<string, unknown>,
            };
      cell.outputs.push(out);
      const id = (c.transient as { display_id?: string } | undefined)?.display_id;
      if (id) displays.set(id, [...(displays.get(id) ?? []), out]);
      return;
    }
    case "update_display_data": {
      const id = (c.transient as { display_id?: string } | undefined)?.display_id;
      for (const out of (id && displays.get(id)) || []) {
        if (out.output_type === "display_data" || out.output_type === "execute_result") {
          out.data = c.data as Record<string, unknown>;
          out.metadata = (c.metadata ?? {}) as Record<string, unknown>;
        }
      }
      return;
    }
    case "error":
      cell.outputs.push({
        output_type: "error",
        ename: String(c.ename),
        evalue: String(c.evalue),
        traceback: (c.traceback as string[]) ?? [],
      });
      return;
    case "clear_output":
      if (c.wait) clearPending.v = true;
      else cell.outputs = [];
      return;
  }
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export async function runNotebook(
  server: ServerAddress,
  input: string,
  opts: {
    output?: string;
    workDir?: string;
    allowErrors?: boolean;
    progress?: (line: string) => void;
    /** Cell output text as it streams in (the demo echoes it to the terminal). */
    onStream?: (text: string) => void;
  } = {},
): Promise<RunResult> {
  const started = Date.now();
  const path = resolve(input);
  const nb: Notebook = readNotebook(path);
  const output = resolve(opts.output ?? path.replace(/(\.ipynb)?$/, ".out.ipynb"));
  const progress = opts.progress ?? (() => {});
  const client = await KernelClient.open(server, {
    workDir: opts.workDir ?? dirname(path),
    notebook: basename(path),
  });
  const code = nb.cells.filter((c): c is CodeCell => c.cell_type === "code");
  let failedCell: number | undefined;
  try {
    for (const [i, cell] of code.entries()) {
      const t0 = Date.now();
      const displays = new Map<string, Output[]>();
      const clearPending = { v: false };
      const source = cellSource(cell);
      progress(
        `[${i + 1}/${code.length}] ${
          source
            .split("\n")
            .find((l) => l.trim())
            ?.slice(0, 60) ?? "(empty)"
        }`,
      );
      const reply = await client.execute(source, (msg) => {
        if (msg.header.msg_type === "stream") opts.onStream?.(String(msg.content.text));
        applyOutput(cell, msg, displays, clearPending);
      });
      cell.execution_count = reply.execution_count;
      progress(`[${i + 1}/${code.length}] ${reply.status} in ${formatSeconds(Date.now() - t0)}`);
      if (reply.status !== "ok") {
        failedCell ??= i + 1;
        if (!opts.allowErrors) break;
      }
    }
  } finally {
    await client.shutdown().catch(() => {});
  }
  nb.metadata.kernelspec = { name: "alpine", display_name: "Python (Alpine)", language: "python" };
  nb.metadata.language_info = kernelInfo({ unknown: "not asked" }, "").language_info;
  writeFileSync(output, JSON.stringify(nb, null, 1) + "\n");
  return { output, cells: code.length, failedCell, seconds: (Date.now() - started) / 1000 };
}
