/**
 * Test isolation: every test gets its own config, data, runtime and Jupyter directories, so it
 * never touches the user's real server or kernelspecs. Missing services make tests FAIL, not skip.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** The repository (also when this file runs compiled under build/, for the benchmarks). */
function findRoot(dir: string): string {
  for (let d = dir; d !== dirname(d); d = dirname(d))
    if (existsSync(join(d, "package.json")) && existsSync(join(d, "src"))) return d;
  return resolve(__dirname, "..", "..");
}
export const ROOT = findRoot(__dirname);
export const CLI = join(ROOT, "dist", "cli", "main.js");
/** Debian's Python, which has jupyter_client, nbconvert, IPython, dill, numpy, pandas. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

export interface IsolatedEnv {
  dir: string;
  env: NodeJS.ProcessEnv;
  configPath: string;
  writeConfig(yaml: string): void;
  cleanup(): void;
}

/** Fresh directories for one test file; `env` is what child processes (Jupyter, the CLI) get. */
export function isolatedEnv(configYaml?: string): IsolatedEnv {
  const dir = mkdtempSync(join(tmpdir(), "ak-test-"));
  const configPath = join(dir, "config.yaml");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ALPINE_KERNEL_CONFIG: configPath,
    ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
    ALPINE_KERNEL_RUNTIME_DIR: join(dir, "runtime"),
    JUPYTER_DATA_DIR: join(dir, "jupyter-data"),
    JUPYTER_RUNTIME_DIR: join(dir, "jupyter-runtime"),
    JUPYTER_CONFIG_DIR: join(dir, "jupyter-config"),
    JUPYTER_PATH: "",
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    JUPYTER_PLATFORM_DIRS: "1",
  };
  const iso: IsolatedEnv = {
    dir,
    env,
    configPath,
    writeConfig: (yaml) => writeFileSync(configPath, yaml),
    cleanup: () => {
      stopServerIn(env);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (configYaml !== undefined) iso.writeConfig(configYaml);
  return iso;
}

/** Applies an isolated environment to this (jest worker) process, for in-process servers and CLI functions. */
export function useInProcess(iso: IsolatedEnv): () => void {
  const keys = [
    "ALPINE_KERNEL_CONFIG",
    "ALPINE_KERNEL_DATA_DIR",
    "ALPINE_KERNEL_RUNTIME_DIR",
    "JUPYTER_DATA_DIR",
  ] as const;
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) process.env[k] = iso.env[k];
  return () => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}

/** Stops a background server started in this environment (by a kernel bridge or `run`). */
export function stopServerIn(env: NodeJS.ProcessEnv): void {
  try {
    execFileSync(process.execPath, [CLI, "stop"], { env, stdio: "ignore", timeout: 15_000 });
  } catch {
    // nothing running
  }
}

/** Fails (never skips) when a program the test needs is not installed. */
export function requireProgram(path: string, installHint: string): void {
  if (!existsSync(path))
    throw new Error(`${path} is missing: ${installHint} (scripts/install-system-deps.sh installs it)`);
}

export function requireBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}

export function installKernelSpec(env: NodeJS.ProcessEnv): void {
  requireBuilt();
  execFileSync(process.execPath, [CLI, "install", "--user"], { env, stdio: "pipe" });
}

/** Runs a Python test script of test/python/ with Debian's Python; returns its stdout (throws on failure). */
export function runPython(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): string {
  requireProgram(DEBIAN_PYTHON, "Debian's python3");
  return execFileSync(DEBIAN_PYTHON, [join(ROOT, "test", "python", script), ...args], {
    env,
    encoding: "utf8",
    timeout: timeoutMs,
    stdio: ["ignore", "pipe", "pipe"],
  });
}
