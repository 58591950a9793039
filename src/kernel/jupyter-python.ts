/**
 * The Python that Jupyter itself runs in, found from the kernel's parent process: jupyter_client
 * starts the kernel (this bridge) from that Python, whose command line begins with the interpreter
 * the `jupyter` script's shebang names (a venv's `bin/python3`, not the file it links to). The
 * local backend runs cells with it when nothing else is configured, as ipykernel would.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { basename, delimiter, isAbsolute, join } from "node:path";

/** argv[0] of a process: from /proc on Linux, else from ps. */
function argv0Of(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] || undefined;
  } catch {
    try {
      const args = execFileSync("ps", ["-o", "args=", "-p", String(pid)], {
        encoding: "utf8",
        timeout: 2000,
      });
      return args.trim().split(/\s+/)[0] || undefined;
    } catch {
      return undefined;
    }
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `python3` → the first `python3` on PATH; an absolute path as it is. */
function resolveProgram(program: string, path = process.env.PATH ?? ""): string | undefined {
  if (isAbsolute(program)) return executable(program) ? program : undefined;
  if (program.includes("/")) return undefined; // relative to a cwd we do not know
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, program))
    .find(executable);
}

/** Is this the name of a Python interpreter (python, python3, python3.11)? */
export function isPythonName(program: string): boolean {
  return /^python(\d+(\.\d+)*)?$/.test(basename(program));
}

/**
 * The absolute path of the Python that started this process (JPY_PARENT_PID, else the parent),
 * or undefined when the parent is not a Python (`alpine-kernel run`, a test, another tool).
 */
export function jupyterPython(
  pid = Number(process.env.JPY_PARENT_PID) || process.ppid,
  readArgv0: (pid: number) => string | undefined = argv0Of,
): string | undefined {
  if (!pid || pid === 1) return undefined;
  const argv0 = readArgv0(pid);
  if (!argv0 || !isPythonName(argv0)) return undefined;
  return resolveProgram(argv0);
}
