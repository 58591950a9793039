/**
 * How the kernel bridge and the CLI find the user's server: a JSON file (mode 0600) in the runtime
 * directory with its URL, token and pid. A file left by a server that died is stale, not an error.
 * Here, under config/ (where the server's files live), so that the server (which writes it) and
 * the kernel bridge and the CLI (which read it) all reach it without importing each other.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeDir } from "./paths";
import { makePrivateDir } from "./private-files";

export interface RuntimeInfo {
  url: string;
  port: number;
  token: string;
  pid: number;
  version: string;
  started: string;
  backend: string;
  /** The largest message a frontend may send (protocol/limits.ts): the kernel bridge applies it too. */
  max_message_bytes?: number;
}

export function runtimeFilePath(dir = runtimeDir()): string {
  return join(dir, "server.json");
}

export function writeRuntimeFile(info: RuntimeInfo, path = runtimeFilePath()): void {
  makePrivateDir(join(path, ".."));
  const tmp = `${path}.${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, JSON.stringify(info, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
}

export function readRuntimeFile(path = runtimeFilePath()): RuntimeInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { url, port, token, pid } = parsed as Record<string, unknown>;
  if (
    typeof url !== "string" ||
    typeof port !== "number" ||
    typeof token !== "string" ||
    typeof pid !== "number"
  )
    return undefined;
  return parsed as unknown as RuntimeInfo;
}

/** Removes the runtime file if it still describes the server with this pid. */
export function removeRuntimeFile(pid: number, path = runtimeFilePath()): void {
  if (readRuntimeFile(path)?.pid === pid) rmSync(path, { force: true });
}
