/**
 * The JupyterLab extension (the Alpine jobs panel), prebuilt into dist/labextension and installed
 * beside the kernelspec: `<Jupyter data dir>/labextensions/@alpine-kernel/jupyterlab-jobs`, where
 * JupyterLab 4 finds prebuilt extensions (`jupyter labextension list` shows it). No Python, no
 * `jupyter labextension` command: a copy, as JupyterLab's own docs describe for prebuilt ones.
 */
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { InputError } from "../errors";
import { kernelsDir, type InstallScope } from "./kernelspec";

export const LABEXTENSION_NAME = "@alpine-kernel/jupyterlab-jobs";

/** The built extension of this installation. */
export function labextensionSource(): string {
  return resolve(__dirname, "..", "labextension");
}

/** Where JupyterLab looks for prebuilt extensions in the same data directory as the kernelspec. */
export function labextensionDir(scope: InstallScope): string {
  return join(dirname(kernelsDir(scope)), "labextensions", ...LABEXTENSION_NAME.split("/"));
}

export function installLabextension(scope: InstallScope): string {
  const src = labextensionSource();
  if (!existsSync(join(src, "package.json")))
    throw new InputError(
      "NOT_BUILT",
      `the JupyterLab extension is not built (${src} missing): run \`npm run build\` in alpine-kernel's folder`,
    );
  const dir = labextensionDir(scope);
  rmSync(dir, { recursive: true, force: true }); // an older build's chunks must not linger
  cpSync(src, dir, { recursive: true });
  return dir;
}

/**
 * Removes the extension when no alpine-kernel kernelspec is left in that data directory (another
 * one, installed with --name, still uses it). Returns the folder removed, or undefined.
 */
export function uninstallLabextension(scope: InstallScope, stillInstalled: string[]): string | undefined {
  const dir = labextensionDir(scope);
  if (!existsSync(dir) || stillInstalled.length) return undefined;
  rmSync(dir, { recursive: true, force: true });
  const scopeDir = dirname(dir);
  if (existsSync(scopeDir) && readdirSync(scopeDir).length === 0) rmSync(scopeDir, { recursive: true });
  return dir;
}
