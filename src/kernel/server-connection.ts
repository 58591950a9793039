/**
 * Finds the user's alpine-kernel server from its runtime file, and starts one in the background
 * when none answers (a stale runtime file is not an error). Used by the kernel bridge and the CLI.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDir, runtimeDir } from "../config/paths";
import { makePrivateDir, makePrivateFile } from "../config/private-files";
import { AlpineKernelError } from "../errors";
import { readRuntimeFile, type RuntimeInfo } from "../config/runtime-file";
import { processAlive } from "../process-alive";
import { cliEntry } from "./kernelspec";

export class ServerUnavailableError extends AlpineKernelError {
  constructor(message: string) {
    super("SERVER_UNAVAILABLE", message);
  }
}

export function authHeaders(info: RuntimeInfo): Record<string, string> {
  return { Authorization: `token ${info.token}` };
}

/** True when the server described by `info` answers with its token. */
export async function ping(info: RuntimeInfo, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${info.url}/api`, {
      headers: authHeaders(info),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** The running server, if its runtime file is there and it answers. */
export async function findServer(): Promise<RuntimeInfo | undefined> {
  const info = readRuntimeFile();
  if (!info) return undefined;
  if (!processAlive(info.pid)) return undefined;
  return (await ping(info)) ? info : undefined;
}

/** The server as its runtime file tells: none, one whose process lives but does not answer (stale), or running. */
export async function findServerState(): Promise<
  { kind: "none" } | { kind: "stale"; info: RuntimeInfo } | { kind: "running"; info: RuntimeInfo }
> {
  const info = readRuntimeFile();
  if (!info) return { kind: "none" };
  // A dead server's file is harmless (the next launch replaces it); a live one that does not answer is not.
  if (!processAlive(info.pid)) return { kind: "none" };
  return (await ping(info)) ? { kind: "running", info } : { kind: "stale", info };
}

const LAUNCH_LOCK_STALE_MS = 60_000;

/** One launcher at a time: several kernels opening at once must not start several servers. */
function acquireLaunchLock(): (() => void) | undefined {
  const lock = join(runtimeDir(), "launch.lock");
  makePrivateDir(runtimeDir());
  try {
    const fd = openSync(lock, "wx", 0o600);
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    return () => rmSync(lock, { force: true });
  } catch {
    try {
      const holder = Number(readFileSync(lock, "utf8"));
      const age = Date.now() - statSync(lock).mtimeMs;
      if (!processAlive(holder) || age > LAUNCH_LOCK_STALE_MS) rmSync(lock, { force: true });
    } catch {
      // lock vanished meanwhile: next round takes it
    }
    return undefined;
  }
}

/** Log file of servers started in the background. */
export function serverLogPath(): string {
  return join(dataDir(), "server.log");
}

function launchServer(): void {
  makePrivateDir(dataDir());
  const errLog = join(dataDir(), "server.stderr.log");
  makePrivateFile(errLog);
  const out = openSync(errLog, "a", 0o600);
  const child = spawn(process.execPath, [cliEntry(), "serve", "--idle-exit", "--log-file", serverLogPath()], {
    detached: true,
    stdio: ["ignore", out, out],
    env: process.env,
  });
  child.unref();
  closeSync(out);
}

/** The running server, starting one in the background if needed. */
export async function ensureServer(timeoutMs = 30_000): Promise<RuntimeInfo> {
  const deadline = Date.now() + timeoutMs;
  let launched = false;
  while (Date.now() < deadline) {
    const info = await findServer();
    if (info) return info;
    if (!launched) {
      const release = acquireLaunchLock();
      if (release) {
        try {
          const again = await findServer();
          if (again) return again;
          launchServer();
          launched = true;
          const started = await waitForServer(deadline);
          if (started) return started;
        } finally {
          release();
        }
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ServerUnavailableError(
    `the alpine-kernel server did not start within ${timeoutMs / 1000} s; see ${serverLogPath()} and ${join(dataDir(), "server.stderr.log")}`,
  );
}

async function waitForServer(deadline: number): Promise<RuntimeInfo | undefined> {
  while (Date.now() < deadline) {
    const info = await findServer();
    if (info) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}
