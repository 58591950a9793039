/**
 * A hand-written fake of the Transport interface for unit tests of code that runs Slurm commands:
 * `run()` answers from a script (stdout, a refusal, or a promise the test settles), every call is
 * recorded with its argv and the (possibly fake) time. File operations are not scripted.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CommandError,
  type RunOptions,
  type RunResult,
  type StreamedProcess,
  type Transport,
} from "../../../../src/cluster/transport";

export type Reply = RunResult | Error | Promise<RunResult | Error>;

export interface Call {
  argv: string[];
  at: number;
}

export class ScriptedTransport implements Transport {
  readonly kind = "ssh" as const;
  readonly user = "alice";
  readonly commandCounts = new Map<string, number>();
  readonly fileOpCounts = new Map<string, number>();
  readonly calls: Call[] = [];

  constructor(private readonly respond: (argv: readonly string[], index: number) => Reply) {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], at: Date.now() });
    const r = await this.respond(argv, this.calls.length - 1);
    if (r instanceof Error) throw r;
    if (r.code !== 0 && !options.allowFailure) throw new CommandError(argv, r.code, r.stdout, r.stderr);
    return r;
  }

  /** Calls of one program (`squeue`, `sacct`, ...). */
  callsOf(program: string): Call[] {
    return this.calls.filter((c) => c.argv[0] === program);
  }

  async resolvePath(path: string): Promise<string> {
    return path;
  }
  readFile(): Promise<Buffer> {
    return notScripted();
  }
  readFrom(): Promise<Buffer | null> {
    return notScripted();
  }
  writeFile(): Promise<void> {
    return notScripted();
  }
  mkdir(): Promise<void> {
    return notScripted();
  }
  exists(): Promise<boolean> {
    return notScripted();
  }
  remove(): Promise<void> {
    return notScripted();
  }
  copyFile(): Promise<void> {
    return notScripted();
  }
  stat(): Promise<null> {
    return notScripted();
  }
  list(): Promise<never[]> {
    return notScripted();
  }
  upload(): Promise<void> {
    return notScripted();
  }
  download(): Promise<void> {
    return notScripted();
  }
  sha256(): Promise<string> {
    return notScripted();
  }
  spawn(_argv: readonly string[]): Promise<StreamedProcess> {
    return Promise.reject(new Error("streamed processes are not scripted in this fake"));
  }
  async close(): Promise<void> {}
}

function notScripted<T>(): Promise<T> {
  return Promise.reject(new Error("file operations are not scripted in this fake"));
}

export const ok = (stdout: string): RunResult => ({ stdout, stderr: "", code: 0 });
export const refused = (stderr: string, code = 1): RunResult => ({ stdout: "", stderr, code });

export const fixture = (name: string): string =>
  readFileSync(join(__dirname, "../../../fixtures/slurm", name), "utf8");

/** A promise the test settles when it wants (a command still running). */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const SQUEUE_ROWS = fixture("squeue-kernel-format.txt")
  .split("\n")
  .filter((l) => l.trim());

/**
 * A row of the real squeue format (squeue-kernel-format.txt) for job `id`: the fixture's row of
 * `template` (a PENDING row by default) with the id, state and reason replaced.
 */
export function squeueRow(id: string, state: string, reason = "None", template = "28"): string {
  const row = SQUEUE_ROWS.find((l) => l.startsWith(`${template}|`));
  if (!row) throw new Error(`no row ${template} in squeue-kernel-format.txt`);
  const [, , , ...rest] = row.split("|");
  return [id, state, reason, ...rest].join("|");
}

export const squeueOutput = (...rows: string[]): RunResult => ok(rows.map((r) => `${r}\n`).join(""));
