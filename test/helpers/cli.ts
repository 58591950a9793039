/**
 * Running the alpine-kernel CLI as a person would: as the cluster's ordinary user on the cluster
 * itself (local transport, runuser), or as root on "a laptop" with a home of its own; and on a
 * pseudo-terminal, answering its questions as they appear (test/python/pty_drive.py).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { CLI, DEBIAN_PYTHON, ROOT, requireBuilt, requireProgram } from "./env";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(argv: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${argv.join(" ")} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `alpine-kernel ARGS` as `user` (runuser), with `env` only (plus PATH): as on the cluster itself. */
export function cliAs(
  user: string,
  args: string[],
  env: Record<string, string>,
  opts: { cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  requireBuilt();
  const vars = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: `/home/${user}`, USER: user, ...env };
  const argv = [
    "runuser",
    "-u",
    user,
    "--",
    "env",
    ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    process.execPath,
    CLI,
    ...args,
  ];
  return collect(argv, { PATH: vars.PATH }, opts.cwd, opts.timeoutMs ?? 120_000);
}

/** `alpine-kernel ARGS` as this process's user (root, "a laptop") with exactly `env` (plus PATH). */
export function cli(
  args: string[],
  env: Record<string, string>,
  opts: { cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  requireBuilt();
  return collect(
    [process.execPath, CLI, ...args],
    { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    opts.cwd,
    opts.timeoutMs ?? 120_000,
  );
}

/** One question and its answer: when `expect` (a regular expression) appears, `answer` is typed. */
export interface PtyAnswer {
  expect: string;
  answer: string;
}

export interface PtyResult {
  code: number;
  /** Everything the program wrote to the terminal, escape sequences removed. */
  transcript: string;
  /** How many answers were typed. */
  answered: number;
}

/** Runs `alpine-kernel ARGS` on a pseudo-terminal (Python's pty), typing each answer when its question shows. */
export async function cliOnPty(
  args: string[],
  answers: PtyAnswer[],
  env: Record<string, string>,
  opts: { cwd: string; timeoutMs?: number },
): Promise<PtyResult> {
  requireBuilt();
  requireProgram(DEBIAN_PYTHON, "Debian's python3");
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const driver = join(ROOT, "test", "python", "pty_drive.py");
  const r = await collect(
    [
      DEBIAN_PYTHON,
      driver,
      JSON.stringify(answers),
      String(timeoutMs / 1000),
      process.execPath,
      CLI,
      ...args,
    ],
    { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    opts.cwd,
    timeoutMs + 10_000,
  );
  const m = /\nPTY_DRIVE (\{.*\})\s*$/.exec(r.stdout);
  if (!m) throw new Error(`the pty driver did not report: ${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(m[1]!) as { code: number; answered: number };
  const transcript = r.stdout
    .slice(0, m.index)
    // eslint-disable-next-line no-control-regex -- the terminal's cursor and colour sequences
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/\r/g, "");
  return { code: report.code, answered: report.answered, transcript };
}
