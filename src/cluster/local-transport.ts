/** Transport on this machine: child_process and the local file system. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs, openSync, closeSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import { expandPath } from "../config/paths";
import { copyLocalFile, listLocal, sha256OfLocalFile, statLocal } from "./local-files";
import {
  CommandError,
  commandOutcome,
  countCommand,
  type DirEntry,
  type FileStat,
  type ProgressListener,
  PRIVATE_DIR,
  PRIVATE_FILE,
  StdoutRelay,
  TailBuffer,
  type RunOptions,
  type RunResult,
  type StreamExit,
  type StreamedProcess,
  type Transport,
} from "./transport";

export interface DetachedProcess {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class LocalTransport implements Transport {
  readonly kind = "local" as const;
  readonly user = userInfo().username;
  readonly commandCounts = new Map<string, number>();
  readonly fileOpCounts = new Map<string, number>();

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    countCommand(this.commandCounts, argv);
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = options.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMs)
        : undefined;
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new CommandError(argv, 127, "", e.message, "could not be started"));
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        const outcome = commandOutcome(argv, out, err, code ?? 128, options, timedOut);
        if (outcome instanceof CommandError) reject(outcome);
        else resolve(outcome);
      });
      child.stdin.on("error", () => {}); // a command that exits without reading stdin
      child.stdin.end(options.input ?? "");
    });
  }

  async spawn(argv: readonly string[]): Promise<StreamedProcess> {
    countCommand(this.commandCounts, argv);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const stderr = new TailBuffer();
    const stdout = new StdoutRelay();
    child.stderr.on("data", (d: Buffer) => stderr.push(d));
    child.stdout.on("data", (d: Buffer) => stdout.push(d));
    child.stdin.on("error", () => {}); // writes after it died: exited says so
    const exited = new Promise<StreamExit>((resolve) => {
      child.on("error", (e) => {
        stderr.push(Buffer.from(`could not be started: ${e.message}`));
        resolve({ code: 127 });
      });
      child.on("close", (code, signal) => resolve({ code, ...(signal ? { signal } : {}) }));
    });
    let ended = false;
    void exited.then(() => (ended = true));
    return {
      write: (data) => {
        if (!ended && child.stdin.writable) child.stdin.write(data);
      },
      onStdout: (listener) => stdout.add(listener),
      exited,
      stderrTail: () => stderr.toString(),
      close: () => {
        child.stdin.end();
        if (!ended) child.kill("SIGTERM");
      },
    };
  }

  /** Starts a long-lived process in its own process group, its output going to files. */
  startDetached(
    argv: readonly string[],
    opts: { stdout: string; stderr: string; cwd: string; env?: NodeJS.ProcessEnv },
  ): DetachedProcess {
    countCommand(this.commandCounts, argv);
    const outFd = openSync(opts.stdout, "a", PRIVATE_FILE);
    const errFd = openSync(opts.stderr, "a", PRIVATE_FILE);
    try {
      const child = spawn(argv[0]!, argv.slice(1), {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        detached: true,
        stdio: ["ignore", outFd, errFd],
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.on("error", () => resolve({ code: 127, signal: null }));
        child.on("exit", (code, signal) => resolve({ code, signal }));
      });
      child.unref();
      if (child.pid === undefined) throw new CommandError(argv, 127, "", "no pid", "could not be started");
      return { pid: child.pid, exited };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  }

  async resolvePath(path: string): Promise<string> {
    return expandPath(path);
  }

  async readFile(path: string): Promise<Buffer> {
    return fs.readFile(path);
  }

  async readFrom(path: string, offset: number, maxBytes = 4 << 20): Promise<Buffer | null> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const length = Math.min(Math.max(size - offset, 0), maxBytes);
      if (length === 0) return Buffer.alloc(0);
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async writeFile(path: string, data: string | Buffer, mode = PRIVATE_FILE): Promise<void> {
    await this.mkdir(dirname(path));
    const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
    await fs.writeFile(tmp, data, { mode });
    await fs.chmod(tmp, mode); // the mode, not the mode less this process's umask
    await fs.rename(tmp, path);
  }

  async mkdir(path: string): Promise<void> {
    await fs.mkdir(path, { recursive: true, mode: PRIVATE_DIR });
  }

  async exists(path: string): Promise<boolean> {
    return fs.access(path).then(
      () => true,
      () => false,
    );
  }

  async remove(path: string): Promise<void> {
    await fs.rm(path, { recursive: true, force: true });
  }

  async copyFile(from: string, to: string): Promise<void> {
    await this.mkdir(dirname(to));
    await fs.copyFile(from, to);
    await fs.chmod(to, PRIVATE_FILE);
  }

  stat(path: string): Promise<FileStat | null> {
    this.count("stat");
    return statLocal(path);
  }

  list(dir: string): Promise<DirEntry[]> {
    this.count("list");
    return listLocal(dir);
  }

  upload(localPath: string, path: string, onProgress?: ProgressListener): Promise<void> {
    this.count("upload");
    return copyLocalFile(localPath, path, onProgress);
  }

  download(path: string, localPath: string, onProgress?: ProgressListener): Promise<void> {
    this.count("download");
    return copyLocalFile(path, localPath, onProgress);
  }

  sha256(path: string): Promise<string> {
    return sha256OfLocalFile(path);
  }

  private count(kind: string): void {
    this.fileOpCounts.set(kind, (this.fileOpCounts.get(kind) ?? 0) + 1);
  }

  async close(): Promise<void> {}
}
