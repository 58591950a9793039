/** The environment a notebook's cells run in, and what the notebook is told about it. */
import { parseConfig } from "../../../src/config/config";
import { cellEnvironment, environmentKey, extrasWarning } from "../../../src/session/cell-environment";

const cfg = (text: string) => parseConfig(text, "c.yaml");
const JUPYTER = "/home/maya/venvs/lab/bin/python3";

test.each<[string, string, { condaEnv?: string; jupyterPython?: string }, string, string]>([
  [
    "local backend, nothing configured: Jupyter's Python",
    "",
    { jupyterPython: JUPYTER },
    JUPYTER,
    "the Python Jupyter runs in",
  ],
  ["local backend, not started by Jupyter: python3", "", {}, "python3", "python3 on the server's PATH"],
  [
    "environment.python wins over Jupyter's",
    "environment:\n  python: /opt/py/bin/python\n",
    { jupyterPython: JUPYTER },
    "/opt/py/bin/python",
    "environment.python",
  ],
  [
    "a conda env: its python3",
    "environment:\n  conda_env: myenv\n",
    { jupyterPython: JUPYTER },
    "python3",
    "conda env myenv",
  ],
  [
    "%slurm --env over the configuration",
    "environment:\n  conda_env: myenv\n",
    { condaEnv: "torch" },
    "python3",
    "conda env torch",
  ],
  [
    "slurm backend: never Jupyter's Python",
    "backend: slurm\n",
    { jupyterPython: JUPYTER },
    "python3",
    "python3 on the cluster's PATH",
  ],
  [
    "alpine profile: python in the conda env",
    "cluster_profile: alpine\n",
    {},
    "python",
    "conda env alpine-kernel",
  ],
])("%s", (_what, text, choice, python, source) => {
  const env = cellEnvironment(cfg(text), choice);
  expect(env.setup.python).toBe(python);
  expect(env.source).toContain(source);
});

test("--env reaches conda activate; the modules stay", () => {
  const env = cellEnvironment(cfg("cluster_profile: alpine\n"), { condaEnv: "/projects/me/envs/x" });
  expect(env.setup).toEqual({
    modules: ["miniforge"],
    setup: [],
    conda_env: "/projects/me/envs/x",
    python: "python",
  });
  expect(environmentKey(env.setup)).not.toBe(
    environmentKey(cellEnvironment(cfg("cluster_profile: alpine\n"), {}).setup),
  );
});

describe("extrasWarning", () => {
  const info = { path: "/e/bin/python", version: "3.11.2", prefix: "/e", ipython: true, dill: true };
  const setup = { modules: [], setup: [], conda_env: "alpine-kernel", python: "python" };
  test("nothing to say when both are there", () => expect(extrasWarning(info, setup)).toBeUndefined());
  test("what is lost and the command that adds them", () => {
    const w = extrasWarning({ ...info, ipython: false, dill: false }, setup)!;
    expect(w).toMatch(
      /has no IPython and dill: cells run without IPython's display, magics and tracebacks and carrying enums/,
    );
    expect(w).toContain(
      "add ipython and dill to environment.yml and run `alpine-kernel env update --name alpine-kernel --file environment.yml`",
    );
  });
  test("without a conda env: install them for that Python", () => {
    expect(extrasWarning({ ...info, dill: false }, { ...setup, conda_env: undefined })).toContain(
      "install dill for /e/bin/python",
    );
  });
});
