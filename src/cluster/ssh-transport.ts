/**
 * Transport over ONE shared ssh2 connection: exec channels (at most `maxChannels` at once; OpenSSH
 * allows 10 sessions per connection) and one SFTP session, multiplexed. A dropped connection is
 * opened again on the next use, with backoff; a login that needs a person (Duo) asks the Prompter.
 * Only cluster commands and file reads/writes go through here: user code never runs on the login node.
 */
import { posix } from "node:path";
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { errorMessage } from "../errors";
import { connectSsh, SshError, type ConnectOptions } from "./ssh-connect";
import type { ResolvedHost } from "./ssh-host-config";
import {
  CommandError,
  commandOutcome,
  countCommand,
  PRIVATE_FILE,
  PRIVATE_UMASK,
  shellJoin,
  type DirEntry,
  type FileStat,
  type ProgressListener,
  type RunOptions,
  type RunResult,
  type StreamedProcess,
  type Transport,
} from "./transport";
import { streamedChannel, streamLimitError } from "./ssh-stream";
import { ReadHandles, sftpDownload, sftpList, sftpStat, sftpUpload, sftpWriteFile } from "./ssh-files";

export type ConnectionStatus = "disconnected" | "connecting" | "connected" | "failed";

export interface ConnectionState {
  status: ConnectionStatus;
  target: string;
  since: string;
  lastError?: string;
  /** Logins completed since the server started (1 = one Duo approval so far). */
  logins: number;
}

const BACKOFF_MS = [0, 1000, 2000, 5000, 10_000, 30_000];
const MAX_OPEN_HANDLES = 48;

class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    return () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

export class ConnectionLostError extends SshError {
  constructor(message: string) {
    super("CONNECTION_LOST", message);
  }
}

export class SshTransport implements Transport {
  readonly kind = "ssh" as const;
  readonly commandCounts = new Map<string, number>();
  readonly fileOpCounts = new Map<string, number>();

  private op(kind: string): void {
    this.fileOpCounts.set(kind, (this.fileOpCounts.get(kind) ?? 0) + 1);
  }
  readonly user: string;
  private client: Client | undefined;
  private hops: Client[] = [];
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private connecting: Promise<Client> | undefined;
  private failures = 0;
  private nextAttempt = 0;
  private home: string | undefined;
  private readonly slots: Slots;
  /** Channels held by streamed processes: commands always keep two of max_channels. */
  private streams = 0;
  private closed = false;
  state: ConnectionState;
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();

  constructor(
    readonly host: ResolvedHost,
    private readonly opts: ConnectOptions & { maxChannels?: number },
  ) {
    this.user = host.user;
    this.slots = new Slots(opts.maxChannels ?? 8);
    this.state = {
      status: "disconnected",
      target: `${host.user}@${host.hostName}:${host.port}`,
      since: new Date().toISOString(),
      logins: 0,
    };
  }

  /** Told of every change of the connection's state (status lines, `alpine-kernel login`). */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(status: ConnectionStatus, lastError?: string): void {
    this.state = { ...this.state, status, since: new Date().toISOString(), lastError };
    for (const l of [...this.stateListeners]) l(this.state);
  }

  /** The connection, opening it if needed (at most one attempt at a time, with backoff after failures). */
  connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.closed)
      return Promise.reject(
        new ConnectionLostError("logged out: run `alpine-kernel login` to connect again"),
      );
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const wait = this.nextAttempt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.setState("connecting");
    try {
      const { client, hops } = await connectSsh(this.host, this.opts);
      this.client = client;
      this.hops = hops;
      this.failures = 0;
      this.state.logins++;
      client.on("close", () => this.dropped(client, "the connection closed"));
      client.on("error", (err) => this.dropped(client, errorMessage(err)));
      this.setState("connected");
      return client;
    } catch (err) {
      this.failures++;
      this.nextAttempt = Date.now() + (BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] ?? 30_000);
      this.setState("failed", errorMessage(err));
      throw err;
    }
  }

  private dropped(client: Client, why: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.sftpSession = undefined;
    for (const h of this.hops) h.end();
    this.hops = [];
    this.opts.log?.(`connection to ${this.state.target} lost (${why}); it is opened again on next use`);
    this.setState("disconnected", why);
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    countCommand(this.commandCounts, argv);
    const client = await this.connect();
    const release = await this.slots.acquire();
    try {
      return await new Promise<RunResult>((resolve, reject) => {
        // The login shell's umask (often 022) would make what mkdir, cp and sbatch's job create readable by all.
        const command = `umask ${PRIVATE_UMASK.toString(8).padStart(3, "0")}; ${shellJoin(argv)}`;
        client.exec(command, (err, stream) => {
          if (err)
            return reject(
              new ConnectionLostError(`cannot open a channel to ${this.state.target}: ${err.message}`),
            );
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let timedOut = false;
          const timer = options.timeoutMs
            ? setTimeout(() => {
                timedOut = true;
                stream.close();
              }, options.timeoutMs)
            : undefined;
          stream.on("data", (d: Buffer) => out.push(d));
          stream.stderr.on("data", (d: Buffer) => errOut.push(d));
          stream.on("close", (code: number | null, signal?: string) => {
            clearTimeout(timer);
            if (!timedOut && (code === null || code === undefined)) {
              return reject(
                new ConnectionLostError(
                  `${argv[0]} was cut off${signal ? ` by ${signal}` : ""} (connection lost?)`,
                ),
              );
            }
            const outcome = commandOutcome(argv, out, errOut, code ?? 255, options, timedOut);
            if (outcome instanceof CommandError) reject(outcome);
            else resolve(outcome);
          });
          if (options.input !== undefined) stream.end(options.input);
          else stream.end();
        });
      });
    } finally {
      release();
    }
  }

  /** One exec channel held open for the process's life (it takes a channel slot until it ends). */
  async spawn(argv: readonly string[]): Promise<StreamedProcess> {
    const channels = this.opts.maxChannels ?? 8;
    if (this.streams >= channels - 2) throw streamLimitError(this.streams, channels);
    countCommand(this.commandCounts, argv);
    this.streams++;
    let release = () => {};
    const giveBack = () => {
      release();
      this.streams--;
    };
    try {
      const client = await this.connect();
      release = await this.slots.acquire();
      const stream = await new Promise<ClientChannel>((resolve, reject) =>
        client.exec(shellJoin(argv), (err, ch) =>
          err
            ? reject(new ConnectionLostError(`cannot open a channel to ${this.state.target}: ${err.message}`))
            : resolve(ch),
        ),
      );
      return streamedChannel(stream, giveBack);
    } catch (err) {
      giveBack();
      throw err;
    }
  }

  private async sftp(): Promise<SFTPWrapper> {
    const client = await this.connect();
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((err, sftp) => {
        if (err) {
          this.sftpSession = undefined;
          return reject(new ConnectionLostError(`cannot open SFTP on ${this.state.target}: ${err.message}`));
        }
        sftp.on("close", () => {
          if (this.sftpSession) this.sftpSession = undefined;
        });
        resolve(sftp);
      }),
    );
    return this.sftpSession;
  }

  async resolvePath(path: string): Promise<string> {
    if (path.startsWith("/") && !path.includes("$")) return path;
    if (!this.home) {
      const sftp = await this.sftp();
      this.home = await new Promise<string>((res, rej) =>
        sftp.realpath(".", (err, p) => (err ? rej(err) : res(p))),
      );
    }
    const home = this.home;
    const expanded = path
      .replace(/^~(?=\/|$)/, home)
      .replace(/\$\{HOME\}|\$HOME\b/g, home)
      .replace(/\$\{USER\}|\$USER\b/g, this.user);
    return posix.isAbsolute(expanded) ? expanded : posix.join(home, expanded);
  }

  async readFile(path: string): Promise<Buffer> {
    this.op("readFile");
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.readFile(path, (err: Error | undefined, data: Buffer) => (err ? reject(err) : resolve(data))),
    );
  }

  private readonly handles = new ReadHandles(MAX_OPEN_HANDLES, (kind) => this.op(kind));

  async readFrom(path: string, offset: number, maxBytes = 4 << 20): Promise<Buffer | null> {
    return this.handles.readFrom(await this.sftp(), path, offset, maxBytes);
  }

  async writeFile(path: string, data: string | Buffer, mode = PRIVATE_FILE): Promise<void> {
    await this.mkdir(posix.dirname(path));
    this.op("write");
    this.op("rename");
    await sftpWriteFile(await this.sftp(), path, data, mode);
  }

  private readonly madeDirs = new Set<string>();

  async mkdir(path: string): Promise<void> {
    if (this.madeDirs.has(path)) return;
    await this.run(["mkdir", "-p", path]);
    this.madeDirs.add(path);
  }

  async exists(path: string): Promise<boolean> {
    this.op("stat");
    const sftp = await this.sftp();
    return new Promise((resolve) => sftp.stat(path, (err) => resolve(!err)));
  }

  async remove(path: string): Promise<void> {
    await this.run(["rm", "-rf", "--", path]);
  }

  async copyFile(from: string, to: string): Promise<void> {
    await this.mkdir(posix.dirname(to));
    await this.run(["cp", "--", from, to]);
  }

  async stat(path: string): Promise<FileStat | null> {
    this.op("stat");
    return sftpStat(await this.sftp(), path);
  }

  async list(dir: string): Promise<DirEntry[]> {
    this.op("readdir");
    return sftpList(await this.sftp(), dir);
  }

  async upload(localPath: string, path: string, onProgress?: ProgressListener): Promise<void> {
    this.op("upload");
    await this.mkdir(posix.dirname(path));
    return sftpUpload(await this.sftp(), localPath, path, onProgress);
  }

  async download(path: string, localPath: string, onProgress?: ProgressListener): Promise<void> {
    this.op("download");
    return sftpDownload(await this.sftp(), path, localPath, onProgress);
  }

  /** Hashed where the file lies: only 64 characters cross the connection. */
  async sha256(path: string): Promise<string> {
    const { stdout } = await this.run(["sha256sum", "--", path], { timeoutMs: 600_000 });
    const hex = stdout.trim().split(/\s+/)[0] ?? "";
    if (!/^[0-9a-f]{64}$/.test(hex))
      throw new Error(`sha256sum printed no hash for ${path}: ${stdout.slice(0, 200)}`);
    return hex;
  }

  /** `alpine-kernel logout`: closes the connection; the next use needs a new login. */
  async logout(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.sftpSession = undefined;
    client?.end();
    for (const h of this.hops) h.end();
    this.hops = [];
    this.setState("disconnected", "logged out");
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.logout();
  }
}
