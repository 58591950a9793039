/** The server's log: JSON lines (pino) in the data directory, private to the user; secrets are redacted. */
import { dirname } from "node:path";
import pino, { type Logger } from "pino";
import { makePrivateDir, makePrivateFile } from "../config/private-files";

export const REDACT_PATHS = [
  "token",
  "password",
  "passphrase",
  "key",
  "*.token",
  "*.password",
  "*.passphrase",
  "*.key",
  "headers.authorization",
];

export function createLogger(file: string | undefined, level: string): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { pid: process.pid },
  };
  if (!file) return pino(options, pino.destination(2));
  makePrivateDir(dirname(file));
  makePrivateFile(file);
  return pino(options, pino.destination({ dest: file, mkdir: true, sync: false, mode: 0o600 }));
}
