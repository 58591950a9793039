/** Where alpine-kernel keeps its files on the machine the server runs on (XDG, overridable). */
import { homedir } from "node:os";
import { join } from "node:path";

function env(name: string): string | undefined {
  const v = process.env[name];
  return v && v.trim() ? v : undefined;
}

export function configPath(): string {
  return (
    env("ALPINE_KERNEL_CONFIG") ??
    join(env("XDG_CONFIG_HOME") ?? join(homedir(), ".config"), "alpine-kernel", "config.yaml")
  );
}

export function dataDir(): string {
  return (
    env("ALPINE_KERNEL_DATA_DIR") ??
    join(env("XDG_DATA_HOME") ?? join(homedir(), ".local", "share"), "alpine-kernel")
  );
}

export function runtimeDir(): string {
  return (
    env("ALPINE_KERNEL_RUNTIME_DIR") ??
    (env("XDG_RUNTIME_DIR") ? join(env("XDG_RUNTIME_DIR")!, "alpine-kernel") : join(dataDir(), "runtime"))
  );
}

/** Expands a leading ~ and $VAR / ${VAR} references (config values like "/scratch/alpine/$USER"). */
export function expandPath(p: string, vars: NodeJS.ProcessEnv = process.env): string {
  const home = vars.HOME ?? homedir();
  const withHome = p === "~" ? home : p.startsWith("~/") ? join(home, p.slice(2)) : p;
  return withHome.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_m, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? "",
  );
}
