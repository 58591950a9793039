/**
 * Hand-written fakes for unit tests of an allocation: a Transport whose files live in memory (the
 * test plays the daemon by writing its events file), and a Scheduler whose statuses and end the
 * test decides.
 */
import type {
  DirEntry,
  FileStat,
  RunResult,
  StreamedProcess,
  Transport,
} from "../../../../src/cluster/transport";
import type {
  FinalJobStatus,
  JobStatus,
  Scheduler,
  StatusListener,
  SubmitSpec,
} from "../../../../src/jobs/scheduler";

export class MemoryTransport implements Transport {
  readonly kind = "local" as const;
  readonly user = "alice";
  readonly commandCounts = new Map<string, number>();
  readonly fileOpCounts = new Map<string, number>();
  readonly files = new Map<string, Buffer>();
  readonly commands: string[][] = [];
  /** Answers commands (sacctmgr, scontrol); by default they succeed with no output. */
  respond: (argv: readonly string[]) => RunResult | Error = () => ({ stdout: "", stderr: "", code: 0 });

  append(path: string, text: string): void {
    this.files.set(path, Buffer.concat([this.files.get(path) ?? Buffer.alloc(0), Buffer.from(text)]));
  }
  text(path: string): string | undefined {
    return this.files.get(path)?.toString("utf8");
  }
  /** The files under `dir`, by name. */
  under(dir: string): string[] {
    return [...this.files.keys()].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
  }

  async resolvePath(path: string): Promise<string> {
    return path;
  }
  async run(argv: readonly string[]): Promise<RunResult> {
    this.commands.push([...argv]);
    const r = this.respond(argv);
    if (r instanceof Error) throw r;
    return r;
  }
  async readFile(path: string): Promise<Buffer> {
    const b = this.files.get(path);
    if (!b) throw new Error(`no file ${path}`);
    return b;
  }
  async readFrom(path: string, offset: number, maxBytes = Infinity): Promise<Buffer | null> {
    const b = this.files.get(path);
    if (!b) return null;
    return b.subarray(offset, Math.min(b.length, offset + maxBytes));
  }
  async writeFile(path: string, data: string | Buffer): Promise<void> {
    this.files.set(path, Buffer.from(data));
  }
  async mkdir(): Promise<void> {}
  async exists(path: string): Promise<boolean> {
    return this.files.has(path);
  }
  async remove(path: string): Promise<void> {
    this.files.delete(path);
  }
  async copyFile(from: string, to: string): Promise<void> {
    this.files.set(to, await this.readFile(from));
  }
  async stat(path: string): Promise<FileStat | null> {
    const b = this.files.get(path);
    return b ? { size: b.length, isDirectory: false, mtimeMs: 0 } : null;
  }
  async list(): Promise<DirEntry[]> {
    return [];
  }
  async upload(): Promise<void> {}
  async download(): Promise<void> {}
  async sha256(): Promise<string> {
    return "";
  }
  spawn(): Promise<StreamedProcess> {
    return Promise.reject(new Error("streamed processes are not faked here"));
  }
  async close(): Promise<void> {}
}

export class FakeScheduler implements Scheduler {
  readonly kind = "slurm" as const;
  readonly applies = "all" as const;
  readonly submitted: SubmitSpec[] = [];
  readonly cancelled: string[] = [];
  private readonly watches = new Map<string, { onStatus: StatusListener; onGone: () => void }[]>();
  finals = new Map<string, FinalJobStatus>();
  nextId = 100;

  async submit(spec: SubmitSpec): Promise<string> {
    this.submitted.push(spec);
    return String(this.nextId++);
  }
  watch(jobId: string, onStatus: StatusListener, onGone: () => void): () => void {
    const list = this.watches.get(jobId) ?? [];
    const w = { onStatus, onGone };
    list.push(w);
    this.watches.set(jobId, list);
    return () => list.splice(list.indexOf(w), 1);
  }
  status(s: JobStatus): void {
    for (const w of [...(this.watches.get(s.jobId) ?? [])]) w.onStatus(s);
  }
  gone(jobId: string, final: Omit<FinalJobStatus, "jobId">): void {
    this.finals.set(jobId, { jobId, ...final });
    for (const w of [...(this.watches.get(jobId) ?? [])]) w.onGone();
  }
  async interrupt(): Promise<void> {}
  async cancel(jobId: string): Promise<void> {
    this.cancelled.push(jobId);
  }
  async final(jobId: string): Promise<FinalJobStatus> {
    return this.finals.get(jobId) ?? { jobId, state: "UNKNOWN", exitCode: 0, signal: 0, unknown: true };
  }
  async accounting(): Promise<Map<string, FinalJobStatus>> {
    return new Map();
  }
  async close(): Promise<void> {}
}

/** Waits for the allocation's event loop (timers are real and short in these tests). */
export async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
