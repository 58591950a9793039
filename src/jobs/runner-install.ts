/**
 * Where the cell runner lives on the cluster's file system: installed once per runner version
 * (which Python runs it: python-check.ts).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Transport } from "../cluster/transport";
import { VERSION } from "../version";
import type { OutputLimit } from "./output-budget";
import { shellQuote } from "../cluster/transport";

/** The runner's files as shipped with this package (dist/runner, or src/runner under tests). */
export function runnerSourceDir(): string {
  return join(__dirname, "..", "runner");
}

export const RUNNER_ENTRY = "alpine_kernel_runner.py";
/** Beside the runner: prints a cell's whole output as text from its events file. */
export const OUTPUT_SCRIPT = "alpine_kernel_output.py";

/** The runner's .py files, with paths relative to the runner directory (it has a package below it). */
function runnerFiles(dir = runnerSourceDir(), prefix = ""): { name: string; data: Buffer }[] {
  const files: { name: string; data: Buffer }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.isDirectory() && entry.name !== "__pycache__")
      files.push(...runnerFiles(join(dir, entry.name), join(prefix, entry.name)));
    else if (entry.isFile() && entry.name.endsWith(".py"))
      files.push({ name: join(prefix, entry.name), data: readFileSync(join(dir, entry.name)) });
  }
  return files;
}

/** Read-only, so that no cell can change the runner every later cell runs (and private, as all our files). */
const RUNNER_FILE_MODE = 0o400;
const RUNNER_ENTRY_MODE = 0o500;

/** Where this version of the runner lives under an (absolute) work directory, and its files. */
export function runnerCopy(workDir: string): {
  dir: string;
  entry: string;
  files: { name: string; data: Buffer }[];
} {
  const files = runnerFiles();
  const hash = createHash("sha256");
  for (const f of files) hash.update(f.name).update(f.data);
  const dir = join(workDir, "runner", `${VERSION}-${hash.digest("hex").slice(0, 12)}`);
  return { dir, entry: join(dir, RUNNER_ENTRY), files };
}

/**
 * Copies the runner into `<workDir>/runner/<version>-<hash>/` once, and returns the entry point's
 * path there. Jobs already running keep the copy they started with. The files are read-only; the
 * directories stay writable by their owner (0700), so that the user can delete them.
 */
export async function installRunner(transport: Transport, workDir: string): Promise<string> {
  const { dir, entry, files } = runnerCopy(workDir);
  if (await transport.exists(entry)) return entry;
  for (const f of files)
    if (f.name !== RUNNER_ENTRY) await transport.writeFile(join(dir, f.name), f.data, RUNNER_FILE_MODE);
  const entryData = files.find((f) => f.name === RUNNER_ENTRY)?.data ?? "";
  await transport.writeFile(entry, entryData, RUNNER_ENTRY_MODE); // last: marks the copy complete
  return entry;
}

/**
 * The runner's path on the cluster as a function that installs it on first use, once (again after
 * a failed try): what every backend that starts the runner keeps.
 */
export function runnerOnFirstUse(transport: Transport, workDir: string): () => Promise<string> {
  let runner: Promise<string> | undefined;
  return () =>
    (runner ??= transport
      .resolvePath(workDir)
      .then((dir) => installRunner(transport, dir))
      .catch((err: unknown) => {
        runner = undefined;
        throw err;
      }));
}

/**
 * The output limit of a cell run by the runner at `runnerPath` (undefined: no limit): past `bytes`,
 * the notebook is told the command that prints the whole output (docs/cell-runner.md).
 */
export function outputLimitOf(
  bytes: number | undefined,
  runnerPath: () => Promise<string>,
): OutputLimit | undefined {
  if (!bytes) return undefined;
  const textCommand = async (eventsPath: string) => {
    const dir = await runnerPath().then(dirname, () => "<work_dir>/runner/<version>");
    return `python3 ${shellQuote(join(dir, OUTPUT_SCRIPT))} ${shellQuote(eventsPath)}`;
  };
  return { bytes, textCommand };
}

/**
 * Whether the copy cells would run is this version's, byte for byte: "missing" (the next cell
 * installs it), "current", or the files that differ (a copy damaged by hand or by a full disk).
 */
export async function checkRunner(
  transport: Transport,
  workDir: string,
): Promise<
  { dir: string; status: "current" | "missing" } | { dir: string; status: "differs"; files: string[] }
> {
  const { dir, entry, files } = runnerCopy(workDir);
  if (!(await transport.exists(entry))) return { dir, status: "missing" };
  // All at once: over SFTP each read is several round trips, and one after another they took
  // seconds of `alpine-kernel doctor` (bench/first-day.ts).
  const same = await Promise.all(
    files.map((f) =>
      transport.readFile(join(dir, f.name)).then(
        (there) => there.equals(f.data),
        () => false,
      ),
    ),
  );
  const differ = files.filter((_, i) => !same[i]).map((f) => f.name);
  return differ.length ? { dir, status: "differs", files: differ } : { dir, status: "current" };
}
