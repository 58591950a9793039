/**
 * The one way alpine-kernel touches the cluster: run a command, read and write files.
 * `local` runs on this machine; `ssh` (one shared ssh2 connection) runs on the login node.
 * Commands are argv arrays, never shell strings pasted from user text.
 */
import { ClusterError } from "../errors";
export { PRIVATE_DIR, PRIVATE_FILE, PRIVATE_UMASK } from "../config/private-files";

export interface RunOptions {
  /** Text fed to the command's stdin. */
  input?: string;
  /** Kill the command after this long (ms); the error says so. */
  timeoutMs?: number;
  /** Resolve instead of rejecting when the exit code is not 0. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** What a path holds. */
export interface FileStat {
  size: number;
  isDirectory: boolean;
  mtimeMs: number;
}

export interface DirEntry extends FileStat {
  name: string;
}

/** Bytes copied so far, of how many. */
export type ProgressListener = (done: number, total: number) => void;

export interface Transport {
  readonly kind: "local" | "ssh";
  /** The user commands run as on the cluster (for sacctmgr/squeue --user). */
  readonly user: string;
  /** A configured path made absolute on the cluster: ~, $HOME and $USER are the cluster's. */
  resolvePath(path: string): Promise<string>;
  /** Commands run so far, by program name (sbatch, squeue, ...): the load we put on the cluster. */
  readonly commandCounts: ReadonlyMap<string, number>;
  /** File operations so far, by kind (read, write, stat, ...): over SSH, each is a round trip. */
  readonly fileOpCounts: ReadonlyMap<string, number>;
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  readFile(path: string): Promise<Buffer>;
  /**
   * Bytes of `path` from `offset` (at most maxBytes): empty when nothing new, null when the file is
   * missing. For files that only grow (a job's output): over SSH the file stays open between reads,
   * so a file replaced by rename is read with `readFile` instead.
   */
  readFrom(path: string, offset: number, maxBytes?: number): Promise<Buffer | null>;
  /**
   * Writes atomically (temporary file, then rename), creating parent directories (0700). The file
   * is private to the user (0600) unless `mode` says otherwise.
   */
  writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
  /** Creates the directory and its missing parents, private to the user (0700). */
  mkdir(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  remove(path: string): Promise<void>;
  /** Copies a file; the copy is private to the user (0600). */
  copyFile(from: string, to: string): Promise<void>;
  /** What is at `path`; null when nothing is. */
  stat(path: string): Promise<FileStat | null>;
  /** A directory's entries, sorted by name. */
  list(dir: string): Promise<DirEntry[]>;
  /** Copies a file of this machine to `path` on the cluster, written aside then renamed (0600). */
  upload(localPath: string, path: string, onProgress?: ProgressListener): Promise<void>;
  /** Copies `path` on the cluster to a file of this machine, written aside then renamed (0600). */
  download(path: string, localPath: string, onProgress?: ProgressListener): Promise<void>;
  /** SHA-256 (hex) of a file on the cluster, computed there. */
  sha256(path: string): Promise<string>;
  /**
   * Starts a long-lived process whose stdin and stdout stay open (a helper that answers requests),
   * unlike `run`, which waits for the command to finish. Over SSH it holds one channel until it ends.
   */
  spawn(argv: readonly string[]): Promise<StreamedProcess>;
  close(): Promise<void>;
}

/** How a streamed process ended: its exit code, or null when it was cut off (signal, lost connection). */
export interface StreamExit {
  code: number | null;
  signal?: string;
}

/** A long-lived process with its stdin and stdout streamed (`Transport.spawn`). */
export interface StreamedProcess {
  /** Writes to its stdin; ignored once it has exited. */
  write(data: string): void;
  /** Each chunk of its stdout, as it arrives. */
  onStdout(listener: (chunk: Buffer) => void): void;
  /** Resolves once the process has exited or its channel closed; never rejects. */
  readonly exited: Promise<StreamExit>;
  /** The end of its stderr (at most 4 KiB), to say why it died. */
  stderrTail(): string;
  /**
   * Closes its stdin and ends it: locally with SIGTERM; over SSH by the end of its input alone
   * (sshd passes no signal), so a process meant for `spawn` exits when its input ends.
   */
  close(): void;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * A streamed process's stdout, read from the start (an unread stream never reports its end) and
 * handed to its listeners; what arrives before the first listener is kept for it.
 */
export class StdoutRelay {
  private readonly listeners: ((chunk: Buffer) => void)[] = [];
  private early: Buffer[] = [];
  push(chunk: Buffer): void {
    if (this.listeners.length === 0) this.early.push(chunk);
    for (const l of this.listeners) l(chunk);
  }
  add(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
    for (const chunk of this.early.splice(0)) listener(chunk);
  }
}

/** Keeps the last few KiB of a stream's stderr. */
export class TailBuffer {
  private text = "";
  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
  }
  toString(): string {
    return this.text;
  }
}

/** A cluster command that failed: carries everything needed to understand why. */
export class CommandError extends ClusterError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
    reason?: string,
  ) {
    const detail = (stderr.trim() || stdout.trim()).split("\n").slice(-5).join("\n");
    super(
      "COMMAND_FAILED",
      `${argv[0]} ${reason ?? `exited with code ${exitCode}`}${detail ? `: ${detail}` : ""}`,
    );
  }
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  if (word === "") return "''";
  if (/^[A-Za-z0-9_.,+\-/=:@%]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

export function countCommand(counts: Map<string, number>, argv: readonly string[]): void {
  const name = (argv[0] ?? "").split("/").pop() ?? "";
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

/** How a finished command turned out: its result, or the CommandError its caller gets. */
export function commandOutcome(
  argv: readonly string[],
  out: Buffer[],
  err: Buffer[],
  code: number,
  options: RunOptions,
  timedOut: boolean,
): RunResult | CommandError {
  const result = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code };
  if (timedOut)
    return new CommandError(
      argv,
      code,
      result.stdout,
      result.stderr,
      `timed out after ${options.timeoutMs} ms`,
    );
  if (code !== 0 && !options.allowFailure) return new CommandError(argv, code, result.stdout, result.stderr);
  return result;
}
