/**
 * The environment a notebook's cells run in, and how to say which Python that is. On a cluster:
 * the configured modules and conda environment (or the one `%slurm --env` chose). On the local
 * backend with nothing configured: the Python of the environment Jupyter itself runs in (the
 * kernel bridge, started by Jupyter, tells it), so that a notebook opened from a venv finds that
 * venv's packages — else `python3` on the PATH.
 */
import type { Config } from "../config/config";
import type { EnvironmentSetup } from "../jobs/job-script";
import type { PythonInfo } from "../jobs/python-check";

export interface CellEnvironment {
  setup: EnvironmentSetup;
  /** Where its Python comes from, in words: "conda env alpine-kernel", "the Python Jupyter runs in", ... */
  source: string;
}

export interface EnvironmentChoice {
  /** `%slurm --env` / `%%slurm --env`: a conda environment instead of environment.conda_env. */
  condaEnv?: string;
  /** The Python the notebook's Jupyter runs in (from the bridge), for the local backend. */
  jupyterPython?: string;
}

export function cellEnvironment(config: Config, choice: EnvironmentChoice): CellEnvironment {
  const e = config.environment;
  const condaEnv = choice.condaEnv ?? e.conda_env;
  const base = { modules: e.modules, setup: e.setup, ...(condaEnv ? { conda_env: condaEnv } : {}) };
  if (condaEnv) return { setup: { ...base, python: e.python ?? "python3" }, source: `conda env ${condaEnv}` };
  if (e.python) return { setup: { ...base, python: e.python }, source: "environment.python" };
  if (config.backend === "local" && choice.jupyterPython)
    return {
      setup: { ...base, python: choice.jupyterPython },
      source: "the Python Jupyter runs in; set environment.python to choose another",
    };
  return {
    setup: { ...base, python: "python3" },
    source:
      config.backend === "local"
        ? "python3 on the server's PATH; set environment.python to choose another"
        : "python3 on the cluster's PATH",
  };
}

/** A key telling environments apart (what a session says once per environment). */
export function environmentKey(setup: EnvironmentSetup): string {
  return JSON.stringify([setup.modules, setup.conda_env ?? "", setup.setup, setup.python]);
}

/** What the cells lose without IPython or dill, and how to add them; undefined when both are there. */
export function extrasWarning(info: PythonInfo, setup: EnvironmentSetup): string | undefined {
  const missing = [...(info.ipython ? [] : ["IPython"]), ...(info.dill ? [] : ["dill"])];
  if (!missing.length) return undefined;
  const lost = [
    ...(info.ipython ? [] : ["IPython's display, magics and tracebacks"]),
    ...(info.dill ? [] : ["carrying enums and some objects from cell to cell (dill)"]),
  ].join(" and ");
  const fix = setup.conda_env
    ? `add ${missing.map((m) => m.toLowerCase()).join(" and ")} to environment.yml and run \`alpine-kernel env update --name ${setup.conda_env} --file environment.yml\``
    : `install ${missing.map((m) => m.toLowerCase()).join(" and ")} for ${info.path}`;
  return `alpine-kernel: the cells' Python (${info.path}) has no ${missing.join(" and ")}: cells run without ${lost}. To have them, ${fix}.\n`;
}
