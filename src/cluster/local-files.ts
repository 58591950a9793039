/** Files of this machine: copies with progress, written aside then renamed; hashes; listings. */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DirEntry, FileStat, ProgressListener } from "./transport";

/** A temporary name beside `path`: a copy cut short never leaves a half-written file under the real name. */
export function asideOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.part`);
}

/** Counts bytes as they pass, telling at most every 100 ms (and at the end). */
export function progressCounter(total: number, onProgress?: ProgressListener): Transform {
  let done = 0;
  let told = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      done += chunk.length;
      const now = Date.now();
      if (onProgress && (now - told >= 100 || done === total)) {
        told = now;
        onProgress(done, total);
      }
      next(null, chunk);
    },
  });
}

export async function copyLocalFile(from: string, to: string, onProgress?: ProgressListener): Promise<void> {
  const { size } = await fs.stat(from);
  await fs.mkdir(dirname(to), { recursive: true });
  const tmp = asideOf(to);
  try {
    await pipeline(
      createReadStream(from),
      progressCounter(size, onProgress),
      createWriteStream(tmp, { mode: 0o600 }),
    );
    await fs.rename(tmp, to);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

export async function sha256OfLocalFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

export async function statLocal(path: string): Promise<FileStat | null> {
  try {
    const st = await fs.stat(path);
    return { size: st.size, isDirectory: st.isDirectory(), mtimeMs: st.mtimeMs };
  } catch (err) {
    // Nothing there: not even a folder to hold it (ENOTDIR: a file where a folder would be).
    if (["ENOENT", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "")) return null;
    throw err;
  }
}

export async function listLocal(dir: string): Promise<DirEntry[]> {
  const names = (await fs.readdir(dir)).sort();
  const entries = await Promise.all(
    names.map(async (name) => ({ name, st: await statLocal(join(dir, name)) })),
  );
  return entries.flatMap(({ name, st }) => (st ? [{ name, ...st }] : []));
}
