/**
 * `alpine-kernel demo`: runs examples/alpine-demo.ipynb on the embedded local backend, in a private
 * server of its own, and says where the executed notebook and the CSV are.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../config/config";
import { InputError } from "../errors";
import { runNotebook } from "../notebook/run-notebook";
import { createLogger } from "../server/logger";
import { startServer } from "../server/serve";

const NEEDS = ["numpy", "pandas", "matplotlib"];

/** The first Python that has numpy, pandas and matplotlib, or a message saying what each lacks. */
export function findDemoPython(candidates: string[]): { python: string } | { problems: string[] } {
  const problems: string[] = [];
  const probe = `import importlib.util, sys; missing = [m for m in ${JSON.stringify(NEEDS)} if importlib.util.find_spec(m) is None]; print(" ".join(missing)); print(sys.executable)`;
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ["-c", probe], { encoding: "utf8", timeout: 30_000 });
    if (r.error || r.status !== 0) {
      problems.push(`${python}: not usable (${r.error?.message ?? r.stderr.trim().split("\n").pop()})`);
      continue;
    }
    const [missing = "", exe = python] = r.stdout.split("\n");
    if (!missing.trim()) return { python: exe.trim() || python };
    problems.push(`${exe.trim() || python}: missing ${missing.trim().split(" ").join(", ")}`);
  }
  return { problems };
}

export function examplesDir(): string {
  return resolve(__dirname, "..", "..", "examples");
}

export async function demoCommand(opts: { python?: string }): Promise<number> {
  const candidates = [
    opts.python,
    process.env.ALPINE_KERNEL_DEMO_PYTHON,
    "python3",
    "/usr/bin/python3",
  ].filter((p): p is string => Boolean(p));
  const found = findDemoPython(candidates);
  if ("problems" in found) {
    throw new InputError(
      "DEMO_PYTHON",
      `the demo needs a Python with ${NEEDS.join(", ")} to run its cells, and none was found:\n  ${found.problems.join("\n  ")}\n` +
        "Install them (Debian: `sudo apt-get install python3-numpy python3-pandas python3-matplotlib`; or `pip install numpy pandas matplotlib`),\n" +
        "or name a Python that has them: `alpine-kernel demo --python /path/to/python`.",
    );
  }
  const outDir = join(examplesDir(), "output");
  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), "alpine-kernel-demo-"));
  const config = parseConfig(
    `backend: local\nwork_dir: ${JSON.stringify(join(scratch, "sessions"))}\nenvironment:\n  python: ${JSON.stringify(found.python)}\n`,
    "(demo)",
  );
  const log = createLogger(join(outDir, "demo-server.log"), "info");
  process.stderr.write(`alpine-kernel demo: local backend, cells run by ${found.python}\n`);
  const server = await startServer({ config, log, ledgerPath: join(scratch, "ledger.jsonl") });
  try {
    const result = await runNotebook(server, join(examplesDir(), "alpine-demo.ipynb"), {
      output: join(outDir, "alpine-demo.out.ipynb"),
      workDir: outDir,
      progress: (line) => process.stderr.write(`${line}\n`),
      onStream: (text) => process.stderr.write(text.replace(/^(?=.)/gm, "      │ ")),
    });
    process.stderr.write(
      `\n${result.failedCell ? `cell ${result.failedCell} failed` : "all cells ran"} in ${result.seconds.toFixed(1)} s\n` +
        `executed notebook: ${result.output}\nCSV:               ${join(outDir, "example_output.csv")}\n` +
        `open the notebook in Jupyter, or run it yourself: alpine-kernel install --user, then pick "Python (Alpine)"\n`,
    );
    return result.failedCell ? 1 : 0;
  } finally {
    await server.close();
  }
}
