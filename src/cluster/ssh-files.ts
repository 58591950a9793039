/**
 * File operations of the SSH transport over its SFTP session: stat, listing, and whole-file copies
 * between this machine and the cluster (several requests in flight, written aside, renamed whole).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { dirname, posix } from "node:path";
import type { FileEntryWithStats, SFTPWrapper } from "ssh2";
import { asideOf } from "./local-files";
import type { DirEntry, FileStat, ProgressListener } from "./transport";

/** ssh2's fastPut/fastGet step callback, telling at most every 100 ms (and at the end). */
function throttled(
  onProgress?: ProgressListener,
): ((done: number, chunk: number, total: number) => void) | undefined {
  if (!onProgress) return undefined;
  let told = 0;
  return (done, _chunk, total) => {
    const now = Date.now();
    if (now - told >= 100 || done === total) {
      told = now;
      onProgress(done, total);
    }
  };
}

export function sftpStat(sftp: SFTPWrapper, path: string): Promise<FileStat | null> {
  return new Promise((resolve, reject) =>
    sftp.stat(path, (err, attrs) => {
      if (err) return (err as { code?: number }).code === 2 ? resolve(null) : reject(err); // 2 = no such file
      resolve({ size: attrs.size, isDirectory: attrs.isDirectory(), mtimeMs: attrs.mtime * 1000 });
    }),
  );
}

export async function sftpList(sftp: SFTPWrapper, dir: string): Promise<DirEntry[]> {
  const entries = await new Promise<FileEntryWithStats[]>((resolve, reject) =>
    sftp.readdir(dir, (err, list) => (err ? reject(err) : resolve(list))),
  );
  return entries
    .filter((e) => e.filename !== "." && e.filename !== "..")
    .map((e) => ({
      name: e.filename,
      size: e.attrs.size,
      isDirectory: e.attrs.isDirectory(),
      mtimeMs: e.attrs.mtime * 1000,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** SFTP with several requests in flight (ssh2's fastPut), to a name aside, renamed when whole. */
export async function sftpUpload(
  sftp: SFTPWrapper,
  localPath: string,
  path: string,
  onProgress?: ProgressListener,
): Promise<void> {
  const tmp = posix.join(
    posix.dirname(path),
    `.${posix.basename(path)}.${randomBytes(4).toString("hex")}.part`,
  );
  try {
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(localPath, tmp, { mode: 0o600, step: throttled(onProgress) }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.ext_openssh_rename(tmp, path, (err) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    sftp.unlink(tmp, () => {}); // what a cut-off copy left, if anything
    throw err;
  }
}

/** ssh2's fastGet to a name aside on this machine, renamed when whole. */
export async function sftpDownload(
  sftp: SFTPWrapper,
  path: string,
  localPath: string,
  onProgress?: ProgressListener,
): Promise<void> {
  await fs.mkdir(dirname(localPath), { recursive: true });
  const tmp = asideOf(localPath);
  try {
    await new Promise<void>((resolve, reject) =>
      sftp.fastGet(path, tmp, { mode: 0o600, step: throttled(onProgress) }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await fs.rename(tmp, localPath);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Written to a name aside, then renamed over `path`: a reader never sees half a file. */
export async function sftpWriteFile(
  sftp: SFTPWrapper,
  path: string,
  data: string | Buffer,
  mode: number,
): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await new Promise<void>((resolve, reject) =>
    sftp.writeFile(tmp, data, { mode }, (err) => (err ? reject(err) : resolve())),
  );
  await new Promise<void>((resolve, reject) =>
    sftp.ext_openssh_rename(tmp, path, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * Open read handles of the files being followed, kept across polls: a poll is then one read round
 * trip per file, not open + read + close. The files tailed only grow (never replaced).
 */
export class ReadHandles {
  private handles = new Map<string, Promise<Buffer | null>>();
  private handlesOf: SFTPWrapper | undefined;

  constructor(
    private readonly max: number,
    private readonly op: (kind: string) => void,
  ) {}

  private handle(sftp: SFTPWrapper, path: string): Promise<Buffer | null> {
    if (this.handlesOf !== sftp) {
      this.handles = new Map(); // a new SFTP session: the old handles died with the old one
      this.handlesOf = sftp;
    }
    const cached = this.handles.get(path);
    if (cached) {
      this.handles.delete(path); // most recently used last
      this.handles.set(path, cached);
      return cached;
    }
    this.op("open");
    const opened = new Promise<Buffer | null>((resolve, reject) =>
      sftp.open(path, "r", (err, h) =>
        err ? ((err as { code?: number }).code === 2 ? resolve(null) : reject(err)) : resolve(h),
      ),
    );
    this.handles.set(path, opened);
    opened.then(
      (h) => {
        if (!h) this.handles.delete(path); // missing now; it may appear later
      },
      () => this.handles.delete(path),
    );
    if (this.handles.size > this.max) {
      const [oldest, h] = this.handles.entries().next().value as [string, Promise<Buffer | null>];
      this.handles.delete(oldest);
      // An open that failed has nothing to close (its caller got the error): without the second
      // handler that failure would come back here as an unhandled rejection and end the server.
      void h.then(
        (b) => {
          if (b) {
            this.op("close");
            sftp.close(b, () => {});
          }
        },
        () => {},
      );
    }
    return opened;
  }

  async readFrom(sftp: SFTPWrapper, path: string, offset: number, maxBytes: number): Promise<Buffer | null> {
    const handle = await this.handle(sftp, path);
    if (!handle) return null;
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const want = Math.min(maxBytes - total, 256 * 1024);
        if (want <= 0) break;
        const buf = Buffer.alloc(want);
        this.op("read");
        const n = await new Promise<number>((resolve, reject) =>
          sftp.read(handle, buf, 0, want, offset + total, (err, bytesRead) => {
            if (err) return (err as { code?: number }).code === 1 ? resolve(0) : reject(err); // 1 = EOF
            resolve(bytesRead);
          }),
        );
        if (n <= 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
        if (n < want) break;
      }
      return Buffer.concat(chunks);
    } catch (err) {
      this.handles.delete(path); // a stale handle: open afresh next time
      throw err;
    }
  }
}
