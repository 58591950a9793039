/**
 * Everything alpine-kernel creates is private to its user: directories 0700, files 0600. On the
 * cluster, cells' code, events, outputs and namespaces may hold anything, and Alpine's /scratch is
 * shared by every user (the transports make files and directories with these modes, and run
 * commands with this umask: sbatch hands it to the job, which creates its .out/.err files with
 * it). On this machine, the server's log, ledger and runtime file (with its token) are private
 * too; directories and files an earlier version left wider are narrowed when the server starts.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";

export const PRIVATE_UMASK = 0o077;
export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

/** Creates `dir` (and its parents) 0700; an existing one of ours that others can read is made 0700. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  narrow(dir, PRIVATE_DIR);
}

/** An existing file of ours that others can read is made 0600; a missing one is fine. */
export function makePrivateFile(file: string): void {
  narrow(file, PRIVATE_FILE);
}

function narrow(path: string, mode: number): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  // Only what this user owns: a data directory pointed at a shared place is not ours to change.
  if (st.uid === process.getuid?.() && (st.mode & 0o077) !== 0) chmodSync(path, mode);
}
