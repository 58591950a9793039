/**
 * The one place that knows how a session directory on the cluster is laid out:
 *
 *   <session dir>/namespace.pkl                 the namespace the next cell starts from
 *   <session dir>/cells/0007.py                 cell 7's code
 *   <session dir>/cells/0007.sh                 its job script
 *   <session dir>/cells/0007.events.jsonl       the runner's events (docs/cell-runner.md)
 *   <session dir>/cells/0007.events.jsonl.input.N   answer to the runner's Nth input request
 *   <session dir>/cells/0007.out / 0007.err     the job's own stdout and stderr
 *   <session dir>/cells/0007.namespace.pkl      the snapshot a detached cell starts from
 */
import { join } from "node:path";
import type { Transport } from "../cluster/transport";
import type { InputAnswer, SubmittedJob } from "./backend";

export interface CellPaths {
  code: string;
  script: string;
  events: string;
  stdout: string;
  stderr: string;
}

export function cellPaths(sessionDir: string, seq: number): CellPaths {
  const base = join(sessionDir, "cells", String(seq).padStart(4, "0"));
  return {
    code: `${base}.py`,
    script: `${base}.sh`,
    events: `${base}.events.jsonl`,
    stdout: `${base}.out`,
    stderr: `${base}.err`,
  };
}

export function namespacePath(sessionDir: string): string {
  return join(sessionDir, "namespace.pkl");
}

/** The namespace as of a detached cell's submission: later cells may change namespace.pkl first. */
export function snapshotPath(paths: CellPaths): string {
  return paths.code.replace(/\.py$/, ".namespace.pkl");
}

export function inputAnswerPath(paths: CellPaths, seq: number): string {
  return `${paths.events}.input.${seq}`;
}

/** A cell's files as they are now (null: the file is missing). */
export interface RecordedOutput {
  events: Buffer | null;
  stdout: Buffer | null;
  stderr: Buffer | null;
  /** A file held more than is replayed (REPLAY_MAX_BYTES): the files that did, to say where the rest is. */
  cut: string[];
}

const REPLAY_MAX_BYTES = 64 << 20;

/** Session directories through the transport: the session layer never touches the cluster itself. */
export class SessionFiles {
  constructor(private readonly transport: Transport) {}

  /** The configured session directory made absolute on the cluster. */
  resolve(sessionDir: string): Promise<string> {
    return this.transport.resolvePath(sessionDir);
  }

  /** Everything a cell's job has written so far (for `%slurm output`). */
  async recorded(job: SubmittedJob): Promise<RecordedOutput> {
    const paths = cellPaths(job.sessionDir, job.seq);
    const [events, stdout, stderr] = await Promise.all(
      [paths.events, paths.stdout, paths.stderr].map((p) => this.transport.readFrom(p, 0, REPLAY_MAX_BYTES)),
    );
    const cut = [paths.events, paths.stdout, paths.stderr].filter(
      (_p, i) => ([events, stdout, stderr][i]?.length ?? 0) >= REPLAY_MAX_BYTES,
    );
    return { events: events ?? null, stdout: stdout ?? null, stderr: stderr ?? null, cut };
  }

  /** Forgets the namespace (kernel restart); a missing file is fine. */
  async removeNamespace(sessionDir: string): Promise<void> {
    await this.transport.remove(namespacePath(await this.resolve(sessionDir)));
  }

  async writeInputAnswer(paths: CellPaths, seq: number, answer: InputAnswer): Promise<void> {
    await this.transport.writeFile(inputAnswerPath(paths, seq), JSON.stringify(answer), 0o600);
  }

  /** The runner deletes an answer once read; this removes one it never read. */
  async removeInputAnswer(paths: CellPaths, seq: number): Promise<void> {
    await this.transport.remove(inputAnswerPath(paths, seq));
  }
}
