/** `alpine-kernel run NOTEBOOK` */
import { ensureServer } from "../kernel/server-connection";
import { runNotebook } from "../notebook/run-notebook";

export async function runCommand(opts: {
  notebook: string;
  output?: string;
  allowErrors: boolean;
}): Promise<number> {
  const server = await ensureServer();
  const result = await runNotebook(server, opts.notebook, {
    output: opts.output,
    allowErrors: opts.allowErrors,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const status = result.failedCell ? `cell ${result.failedCell} failed` : "all cells ran";
  process.stderr.write(
    `${status}; ${result.cells} code cells in ${result.seconds.toFixed(1)} s\nwrote ${result.output}\n`,
  );
  return result.failedCell ? 1 : 0;
}
