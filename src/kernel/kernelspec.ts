/**
 * The kernelspec Jupyter uses to launch "Python (Alpine)": kernel.json + logos, installed where
 * Jupyter looks (https://jupyter-client.readthedocs.io/en/stable/kernels.html#kernel-specs).
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { InputError } from "../errors";
import { isObject } from "../protocol/validate";
import { VERSION } from "../version";

export const DEFAULT_KERNEL_NAME = "alpine";
export const DEFAULT_DISPLAY_NAME = "Python (Alpine)";

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "message";
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** The CLI entry point of this installation (dist/cli/main.js). */
export function cliEntry(): string {
  return resolve(__dirname, "..", "cli", "main.js");
}

/** A kernelspec for every notebook; with `profile`, its cells start from that resource profile. */
export function kernelSpec(displayName = DEFAULT_DISPLAY_NAME, profile?: string): KernelSpec {
  return {
    argv: [
      process.execPath,
      cliEntry(),
      "kernel",
      "-f",
      "{connection_file}",
      ...(profile ? ["--profile", profile] : []),
    ],
    display_name: displayName,
    language: "python",
    interrupt_mode: "message",
    env: {},
    metadata: { alpine_kernel: { version: VERSION, ...(profile ? { profile } : {}) }, debugger: false },
  };
}

/** "Python (Alpine · GPU)": short profile names in capitals, others capitalized. */
export function profileDisplayName(profile: string): string {
  const title =
    profile.length <= 3 ? profile.toUpperCase() : profile.charAt(0).toUpperCase() + profile.slice(1);
  return `Python (Alpine · ${title})`;
}

/** The kernelspec name of a profile's kernel: alpine-gpu. */
export function profileKernelName(profile: string): string {
  return `${DEFAULT_KERNEL_NAME}-${profile}`;
}

export function logoDir(): string {
  return resolve(__dirname, "..", "..", "kernelspec");
}

export type InstallScope = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string };

/** The Jupyter data directory of the user (honours JUPYTER_DATA_DIR). */
export function userDataDir(): string {
  const explicit = process.env.JUPYTER_DATA_DIR;
  if (explicit) return explicit;
  return join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "jupyter");
}

/** sys.prefix of the Python that runs `jupyter` (read from the jupyter script's shebang). */
function jupyterSysPrefix(): string {
  const jupyter = (process.env.PATH ?? "")
    .split(delimiter)
    .map((d) => join(d, "jupyter"))
    .find((p) => existsSync(p));
  if (!jupyter)
    throw new InputError(
      "NO_JUPYTER",
      "cannot find `jupyter` on PATH for --sys-prefix; use --user or --prefix DIR",
    );
  const shebang = readFileSync(jupyter, "utf8").split("\n")[0] ?? "";
  const python = shebang.startsWith("#!") ? shebang.slice(2).trim().split(/\s+/)[0] : undefined;
  if (!python)
    throw new InputError("NO_JUPYTER", `cannot tell which Python runs ${jupyter}; use --prefix DIR`);
  return execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
}

export function kernelsDir(scope: InstallScope): string {
  switch (scope.kind) {
    case "user":
      return join(userDataDir(), "kernels");
    case "sys-prefix":
      return join(jupyterSysPrefix(), "share", "jupyter", "kernels");
    case "prefix":
      return join(resolve(scope.dir), "share", "jupyter", "kernels");
  }
}

function checkName(name: string): void {
  if (!/^[a-z0-9._-]+$/i.test(name)) {
    throw new InputError(
      "BAD_KERNEL_NAME",
      `kernel name ${JSON.stringify(name)} may contain only letters, digits, '.', '_' and '-'`,
    );
  }
}

export function installKernelSpec(opts: {
  scope: InstallScope;
  name?: string;
  displayName?: string;
  /** A resource profile of the configuration: the kernel's cells start from it. */
  profile?: string;
}): string {
  const name = opts.name ?? (opts.profile ? profileKernelName(opts.profile) : DEFAULT_KERNEL_NAME);
  checkName(name);
  const displayName = opts.displayName ?? (opts.profile ? profileDisplayName(opts.profile) : undefined);
  const dir = join(kernelsDir(opts.scope), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "kernel.json"),
    JSON.stringify(kernelSpec(displayName, opts.profile), null, 2) + "\n",
  );
  for (const logo of ["logo-32x32.png", "logo-64x64.png"]) {
    const src = join(logoDir(), logo);
    if (existsSync(src)) copyFileSync(src, join(dir, logo));
  }
  return dir;
}

export function uninstallKernelSpec(opts: { scope: InstallScope; name?: string }): string {
  const name = opts.name ?? DEFAULT_KERNEL_NAME;
  checkName(name);
  const dir = join(kernelsDir(opts.scope), name);
  if (!existsSync(join(dir, "kernel.json"))) {
    throw new InputError("NOT_INSTALLED", `no kernelspec '${name}' in ${kernelsDir(opts.scope)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

/** Directories Jupyter searches for kernelspecs (JUPYTER_PATH, user, system), most specific first. */
export function searchDirs(): string[] {
  const extra = (process.env.JUPYTER_PATH ?? "").split(delimiter).filter(Boolean);
  const dirs = [...extra, userDataDir(), "/usr/local/share/jupyter", "/usr/share/jupyter"];
  return [...new Set(dirs.map((d) => join(d, "kernels")))];
}

export interface InstalledSpec {
  name: string;
  dir: string;
  displayName: string;
  /** The resource profile its cells start from, if any. */
  profile?: string;
  /** argv[0] and argv[1] of kernel.json: the node and the CLI it runs (doctor checks they exist). */
  argv: string[];
}

/** alpine-kernel kernelspecs installed anywhere Jupyter looks (or in the kernels directories given). */
export function listKernelSpecs(bases: string[] = searchDirs()): InstalledSpec[] {
  const found: InstalledSpec[] = [];
  for (const base of bases) {
    let names: string[] = [];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        const spec: unknown = JSON.parse(readFileSync(join(base, name, "kernel.json"), "utf8"));
        if (isObject(spec) && isObject(spec.metadata) && isObject(spec.metadata.alpine_kernel)) {
          const profile = spec.metadata.alpine_kernel.profile;
          found.push({
            name,
            dir: join(base, name),
            displayName: String(spec.display_name),
            argv: Array.isArray(spec.argv) ? spec.argv.map(String) : [],
            ...(typeof profile === "string" ? { profile } : {}),
          });
        }
      } catch {
        // not a kernelspec, or not ours
      }
    }
  }
  return found;
}
