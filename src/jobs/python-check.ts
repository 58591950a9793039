/**
 * Which Python runs the cells, and whether it can: the cells' environment is set up exactly as a
 * job script does it (module load, conda activate, the user's lines), then the interpreter says
 * where it is, its version, and whether IPython and dill are importable. A missing environment or
 * a Python the runner cannot use is an error that says what to run; the answer is kept for the
 * server's life once it is good (a failure is asked again next time: the user may have fixed it).
 */
import type { Transport } from "../cluster/transport";
import { shellQuote } from "../cluster/transport";
import { ClusterError, errorMessage } from "../errors";
import { SETUP_FAILED_MARKER, renderEnvironmentSetup, type EnvironmentSetup } from "./job-script";

/** The oldest Python the cell runner runs on (docs/cell-runner.md). */
export const MIN_PYTHON: readonly [number, number] = [3, 8];

export interface PythonInfo {
  /** sys.executable as the cells see it. */
  path: string;
  /** platform.python_version(), e.g. "3.11.2". */
  version: string;
  /** sys.prefix: the conda environment or venv the interpreter belongs to. */
  prefix: string;
  ipython: boolean;
  dill: boolean;
}

/** The environment cannot run cells: the message says what failed and what to run. */
export class EnvironmentError extends ClusterError {}

const MARK = "ALPINE_KERNEL_PYTHON ";

/** Python 2.7 and 3.x alike can run this (it prints one marked JSON line) (an old Python must be told it is old, not crash). */
export const PROBE_CODE = [
  "import json, sys, platform",
  "try:",
  "    from importlib.util import find_spec",
  "    has = lambda m: find_spec(m) is not None",
  "except Exception:",
  "    has = lambda m: False",
  `print("${MARK}" + json.dumps({"path": sys.executable, "version": platform.python_version(), "prefix": sys.prefix, "ipython": has("IPython"), "dill": has("dill")}))`,
].join("\n");

/** Whether output holds the probe's whole answer (its line, ended): the interpreter has spoken. */
export function probeAnswered(stdout: string): boolean {
  return stdout.split("\n").some((l, i, all) => l.startsWith(MARK) && i < all.length - 1);
}

/** The shell script that sets up the cells' environment and asks its Python about itself. */
export function pythonProbeScript(env: EnvironmentSetup): string {
  return [...renderEnvironmentSetup(env), `exec ${shellQuote(env.python)} -c ${shellQuote(PROBE_CODE)}`].join(
    "\n",
  );
}

/** How to fix an environment, in the words of the command line (the session adds `%slurm --env`). */
export function environmentFix(env: EnvironmentSetup): string {
  return env.conda_env
    ? `create it with \`alpine-kernel env create --name ${env.conda_env}\` (a job on the build partition, from environment.yml), ` +
        "or list the environments you have with `alpine-kernel env list` and set environment.conda_env"
    : "set environment.python (or environment.conda_env) in your configuration; `alpine-kernel doctor` checks it";
}

function versionTuple(v: string): [number, number] {
  const [a = "0", b = "0"] = v.split(".");
  return [Number(a), Number(b)];
}

export function pythonTooOld(version: string): boolean {
  const [major, minor] = versionTuple(version);
  return major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1]);
}

/**
 * What the probe's output says: the interpreter's facts, or an EnvironmentError naming what
 * failed (a module, the conda environment, the interpreter) and what to run. Pure.
 */
export function readProbe(
  env: EnvironmentSetup,
  out: { stdout: string; stderr: string; code: number },
): PythonInfo {
  const line = out.stdout.split("\n").find((l) => l.startsWith(MARK));
  if (line) {
    let info: PythonInfo;
    try {
      info = JSON.parse(line.slice(MARK.length)) as PythonInfo;
    } catch {
      throw new EnvironmentError("ENVIRONMENT_MISSING", `the cells' Python answered unreadably: ${line}`);
    }
    if (pythonTooOld(info.version))
      throw new EnvironmentError(
        "PYTHON_TOO_OLD",
        `the cells' Python ${info.path} is version ${info.version}; the cell runner needs ${MIN_PYTHON.join(".")} or newer. ` +
          (env.conda_env
            ? `Rebuild the environment with python>=${MIN_PYTHON.join(".")} in environment.yml: \`alpine-kernel env update --name ${env.conda_env} --file environment.yml\``
            : "Point environment.python at a newer Python."),
      );
    return info;
  }
  const stderr = out.stderr.trim();
  const setup = stderr.split("\n").find((l) => l.includes(SETUP_FAILED_MARKER));
  const said = stderr
    .split("\n")
    .filter((l) => !l.includes(SETUP_FAILED_MARKER))
    .slice(-3)
    .join(" ")
    .trim();
  const detail = said ? ` (${said})` : "";
  if (setup) {
    const what = setup.slice(setup.indexOf(SETUP_FAILED_MARKER) + SETUP_FAILED_MARKER.length).trim();
    if (what.startsWith("conda activate"))
      throw new EnvironmentError(
        "ENVIRONMENT_MISSING",
        `the conda environment '${env.conda_env ?? ""}' is not on the cluster${detail}: ${environmentFix(env)}.`,
      );
    if (what.startsWith("module load"))
      throw new EnvironmentError(
        "ENVIRONMENT_MISSING",
        `'${what}' failed on the cluster${detail}: check environment.modules (\`module avail\` lists the modules).`,
      );
    throw new EnvironmentError("ENVIRONMENT_MISSING", `'${what}' failed on the cluster${detail}.`);
  }
  if (out.code === 127)
    throw new EnvironmentError(
      "ENVIRONMENT_MISSING",
      `there is no '${env.python}' in the cells' environment${detail}: ${environmentFix(env)}.`,
    );
  throw new EnvironmentError(
    "ENVIRONMENT_MISSING",
    `the cells' Python could not be asked about itself (exit ${out.code})${detail}.`,
  );
}

/** Runs the probe over the transport (a login shell when modules are loaded: `module` needs one). */
export async function probePython(transport: Transport, env: EnvironmentSetup): Promise<PythonInfo> {
  const login = env.modules.length > 0 ? ["-l"] : [];
  let out;
  try {
    out = await transport.run(["bash", ...login, "-c", pythonProbeScript(env)], {
      timeoutMs: 60_000,
      allowFailure: true,
    });
  } catch (err) {
    if (err instanceof ClusterError && err.code !== "COMMAND_FAILED") throw err; // the connection's own error
    throw new EnvironmentError(
      "ENVIRONMENT_MISSING",
      `the cells' environment could not be checked: ${errorMessage(err)}`,
    );
  }
  return readProbe(env, out);
}

/** The answers for each environment, good ones kept: asked at most once at a time per environment. */
export class PythonCheck {
  private readonly known = new Map<string, PythonInfo>();
  private readonly asking = new Map<string, Promise<PythonInfo>>();

  constructor(private readonly probe: (env: EnvironmentSetup) => Promise<PythonInfo>) {}

  private static key(env: EnvironmentSetup): string {
    return JSON.stringify([env.modules, env.conda_env ?? "", env.setup, env.python]);
  }

  /** What is known already, without asking. */
  peek(env: EnvironmentSetup): PythonInfo | undefined {
    return this.known.get(PythonCheck.key(env));
  }

  check(env: EnvironmentSetup): Promise<PythonInfo> {
    const key = PythonCheck.key(env);
    const known = this.known.get(key);
    if (known) return Promise.resolve(known);
    let p = this.asking.get(key);
    if (!p) {
      p = this.probe(env)
        .then((info) => {
          this.known.set(key, info);
          return info;
        })
        .finally(() => this.asking.delete(key));
      this.asking.set(key, p);
    }
    return p;
  }
}
