/**
 * jupyter_server 2 (what JupyterLab 4 and Notebook 7 run on) in a venv over Debian's Python, from
 * the machine's local wheel mirror; Debian's own Jupyter is Notebook 6. Made once per machine
 * (~20 s) under the temp directory and reused; its `jupyter` script is written last, so a venv
 * without it is an interrupted build, made again.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEBIAN_PYTHON, requireProgram } from "./env";

export const JUPYTER_SERVER_VERSION = "2.21.1";
const MIRROR = "/opt/pypi/simple";

/** The venv's `jupyter` executable. */
export function jupyterServerVenv(): string {
  const dir = join(tmpdir(), "alpine-kernel-test-venvs", `jupyter-server-${JUPYTER_SERVER_VERSION}`);
  const jupyter = join(dir, "bin", "jupyter");
  if (existsSync(jupyter)) return jupyter;
  requireProgram(DEBIAN_PYTHON, "Debian's python3 and python3-venv");
  requireProgram(MIRROR, "the local wheel mirror, from which jupyter_server 2 is installed");
  rmSync(dir, { recursive: true, force: true });
  execFileSync(DEBIAN_PYTHON, ["-m", "venv", dir], { stdio: "pipe", timeout: 120_000 });
  const pip = [join(dir, "bin", "pip"), "install", "-q", "--disable-pip-version-check"];
  execFileSync(
    pip[0]!,
    [...pip.slice(1), "--index-url", `file://${MIRROR}`, `jupyter_server==${JUPYTER_SERVER_VERSION}`],
    {
      stdio: "pipe",
      timeout: 300_000,
    },
  );
  return jupyter;
}
