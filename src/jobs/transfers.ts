/**
 * Files between the notebook's machine and the cluster (`%upload`, `%download`, `alpine-kernel
 * files`): over SSH through the one connection's SFTP session; over the local transport, plain
 * copies. Nothing is overwritten unless asked; what arrived is checked against the source's SHA-256.
 */
import { rm } from "node:fs/promises";
import { isAbsolute, join as localJoin, posix } from "node:path";
import { sha256OfLocalFile, statLocal } from "../cluster/local-files";
import type { DirEntry, ProgressListener, Transport } from "../cluster/transport";
import { errorMessage, InputError } from "../errors";
import type { SessionFiles } from "./session-files";

export class TransferError extends InputError {
  constructor(message: string) {
    super("BAD_TRANSFER", message);
  }
}

export interface TransferRequest {
  /** The file to copy: on this machine for an upload, on the cluster for a download. */
  source: string;
  /** Where to: a file or a directory (ending in "/" or existing); default: the base directory. */
  destination?: string;
  /** Relative cluster paths are taken from here (the notebook's cells directory, unresolved). */
  clusterBase: string;
  /** Relative paths of this machine are taken from here (the notebook's folder). */
  localBase: string;
  /** Replace a file that is already there. */
  force: boolean;
  onProgress?: ProgressListener;
}

export interface TransferResult {
  source: string;
  destination: string;
  bytes: number;
  seconds: number;
  sha256: string;
}

/** A copy that failed says which copy (SFTP's own words are terse: "Permission denied"). */
async function copying<T>(source: string, to: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new TransferError(`copying ${source} to ${to} failed: ${errorMessage(err)}`);
  }
}

function sameFile(path: string): TransferError {
  return new TransferError(`${path} is already where it would go: nothing to copy`);
}

function refuseOverwrite(
  to: string,
  there: { isDirectory: boolean } | null,
  force: boolean,
  where: string,
): void {
  if (!there) return;
  if (there.isDirectory)
    throw new TransferError(`${to} is a folder ${where}: name a file, or the folder with a trailing /`);
  if (!force) throw new TransferError(`${to} already exists ${where}; add --force to replace it`);
}

/** Where a file named `name` goes: into `dest` when it is (or says it is) a directory. */
function target(dest: string, name: string, isDirectory: boolean, join: (...p: string[]) => string): string {
  return dest.endsWith("/") || isDirectory ? join(dest, name) : dest;
}

export class Transfers {
  constructor(
    private readonly transport: Transport,
    private readonly files: SessionFiles,
  ) {}

  private async clusterPath(path: string | undefined, base: string): Promise<string> {
    const dir = await this.files.prepareDir(base);
    if (path === undefined || path === "" || path === ".") return `${dir}/`;
    const absolute = path.startsWith("/") || path.startsWith("~") || path.startsWith("$");
    const resolved = absolute ? await this.transport.resolvePath(path) : posix.join(dir, path);
    return path.endsWith("/") && !resolved.endsWith("/") ? `${resolved}/` : resolved;
  }

  private localPath(path: string | undefined, base: string): string {
    if (path === undefined || path === "" || path === ".") return `${base}/`;
    const resolved = isAbsolute(path) ? path : localJoin(base, path);
    return path.endsWith("/") && !resolved.endsWith("/") ? `${resolved}/` : resolved;
  }

  /** This machine → the cluster. */
  async upload(req: TransferRequest): Promise<TransferResult> {
    const source = this.localPath(req.source, req.localBase);
    const st = await statLocal(source);
    if (!st) throw new TransferError(`no file ${req.source} on this machine (looked for ${source})`);
    if (st.isDirectory)
      throw new TransferError(
        `${source} is a folder: %upload copies one file (pack a folder with tar first)`,
      );
    const dest = await this.clusterPath(req.destination, req.clusterBase);
    const there = dest.endsWith("/") ? null : await this.transport.stat(dest);
    const to = target(dest, posix.basename(source), there?.isDirectory ?? false, posix.join);
    if (this.transport.kind === "local" && to === source) throw sameFile(source);
    refuseOverwrite(to, to === dest ? there : await this.transport.stat(to), req.force, "on the cluster");
    const t0 = Date.now();
    const [sha256] = await copying(
      source,
      to,
      Promise.all([sha256OfLocalFile(source), this.transport.upload(source, to, req.onProgress)]),
    );
    await this.verify(
      sha256,
      () => this.transport.sha256(to),
      to,
      () => this.transport.remove(to),
    );
    return { source, destination: to, bytes: st.size, seconds: (Date.now() - t0) / 1000, sha256 };
  }

  /** The cluster → this machine. */
  async download(req: TransferRequest): Promise<TransferResult> {
    const source = await this.clusterPath(req.source, req.clusterBase);
    const st = await this.transport.stat(source);
    if (!st) throw new TransferError(`no file ${req.source} on the cluster (looked for ${source})`);
    if (st.isDirectory)
      throw new TransferError(
        `${source} is a folder: %download copies one file (pack a folder with tar first)`,
      );
    const dest = this.localPath(req.destination, req.localBase);
    const there = dest.endsWith("/") ? null : await statLocal(dest);
    const to = target(dest, posix.basename(source), there?.isDirectory ?? false, localJoin);
    if (this.transport.kind === "local" && to === source) throw sameFile(source);
    refuseOverwrite(to, to === dest ? there : await statLocal(to), req.force, "on this machine");
    const t0 = Date.now();
    const [sha256] = await copying(
      source,
      to,
      Promise.all([this.transport.sha256(source), this.transport.download(source, to, req.onProgress)]),
    );
    await this.verify(
      sha256,
      () => sha256OfLocalFile(to),
      to,
      () => rm(to, { force: true }),
    );
    return { source, destination: to, bytes: st.size, seconds: (Date.now() - t0) / 1000, sha256 };
  }

  /** A notebook's cells directory on the cluster, as it is now. */
  async list(clusterDir: string): Promise<{ dir: string; entries: DirEntry[] }> {
    const dir = await this.files.resolve(clusterDir);
    const st = await this.transport.stat(dir);
    if (!st) return { dir, entries: [] };
    return { dir, entries: await this.transport.list(dir) };
  }

  private async verify(
    expected: string,
    actual: () => Promise<string>,
    to: string,
    remove: () => Promise<void>,
  ): Promise<void> {
    const got = await actual();
    if (got === expected) return;
    await remove().catch(() => {});
    throw new TransferError(
      `${to} arrived damaged (sha256 ${got.slice(0, 12)}… instead of ${expected.slice(0, 12)}…) and was removed; try again`,
    );
  }
}
