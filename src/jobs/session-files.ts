/**
 * The one place that knows how a session directory on the cluster is laid out:
 *
 *   <session dir>/namespace/                    the namespace store the next cell starts from:
 *                                               index.json + one file per record and large buffer
 *                                               (written by the runner; docs/cell-runner.md)
 *   <session dir>/namespace.unrestored-N/       a store whose index could not be read, kept aside
 *   <session dir>/cells/0007.py                 cell 7's code
 *   <session dir>/cells/0007.sh                 its job script
 *   <session dir>/cells/0007.events.jsonl       the runner's events (docs/cell-runner.md)
 *   <session dir>/cells/0007.events.jsonl.input.N   answer to the runner's Nth input request
 *   <session dir>/cells/0007.out / 0007.err     the job's own stdout and stderr
 *   <session dir>/cells/0007.namespace/         the snapshot a detached cell starts from: hard links
 *                                               to the store's files, removed when the cell ends
 */
import { join } from "node:path";
import { CommandError, type Transport } from "../cluster/transport";
import type { InputAnswer, SubmittedJob } from "./backend";
import { NamespaceIndexError, parseNamespaceIndex, type NamespaceIndex } from "./namespace-index";

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

/** The session's namespace store (a directory). */
export function namespacePath(sessionDir: string): string {
  return join(sessionDir, "namespace");
}

/** The store as of a detached cell's submission: later cells may change the store first. */
export function snapshotPath(paths: CellPaths): string {
  return paths.code.replace(/\.py$/, ".namespace");
}

/** The index of a store (the store's own file, or a snapshot's copy). */
export function namespaceIndexPath(store: string): string {
  return join(store, "index.json");
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
const INDEX_MAX_BYTES = 256 << 20;
/** Files per `ln` command line (well under any ARG_MAX). */
const LINK_BATCH = 200;

/** A notebook's name as a directory name: no separators, no leading dots, nothing a shell would read. */
export function notebookDirName(notebook: string): string {
  const name = notebook
    .replace(/\.ipynb$/i, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+|_+$/g, "")
    .slice(0, 100);
  return name || "notebook";
}

export interface SessionFilesOptions {
  /** `cluster.notebook_dir`: where a notebook's cells run over SSH ({work_dir}, {notebook}). */
  notebookDir: string;
  /** The configured work directory (unresolved). */
  workDir: string;
}

/** Session directories through the transport: the session layer never touches the cluster itself. */
export class SessionFiles {
  private readonly prepared = new Map<string, Promise<string>>();

  constructor(
    private readonly transport: Transport,
    private readonly options: SessionFilesOptions,
  ) {}

  /**
   * Where a notebook's cells run (unresolved: ~ and $USER are the cluster's). On this machine, the
   * notebook's own folder; over SSH, the laptop's folders do not exist on the cluster: a directory of
   * its own there, from `cluster.notebook_dir`.
   */
  cellsDir(notebookFolder: string, notebook: string): string {
    if (this.transport.kind === "local") return notebookFolder;
    return this.options.notebookDir
      .replace(/\{work_dir\}/g, this.options.workDir.replace(/\/+$/, ""))
      .replace(/\{notebook\}/g, notebookDirName(notebook));
  }

  /**
   * The folder holding every notebook's cells directory over SSH (`notebook_dir` up to
   * `/{notebook}`), or undefined when notebooks do not share one (the local transport, or a
   * `notebook_dir` that does not end in `/{notebook}`).
   */
  notebooksRoot(): string | undefined {
    if (this.transport.kind === "local" || !this.options.notebookDir.endsWith("/{notebook}"))
      return undefined;
    return this.cellsDir("", "{notebook}").replace(/\/[^/]*$/, "");
  }

  /** The directory made absolute on the cluster and created (once per server), ready to `cd` into. */
  prepareDir(dir: string): Promise<string> {
    let ready = this.prepared.get(dir);
    if (!ready) {
      ready = this.resolve(dir).then(async (abs) => {
        await this.transport.mkdir(abs);
        return abs;
      });
      ready.catch(() => this.prepared.delete(dir)); // try again next time
      this.prepared.set(dir, ready);
    }
    return ready;
  }

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

  /**
   * Forgets the namespace (kernel restart, shutdown): the store, stores kept aside, and the single
   * file earlier versions kept it in. Detached cells' snapshots are theirs: they stay.
   */
  async removeNamespace(sessionDir: string): Promise<void> {
    const dir = await this.resolve(sessionDir);
    const names = [
      "-name",
      "namespace",
      "-o",
      "-name",
      "namespace.pkl",
      "-o",
      "-name",
      "namespace.unrestored-*",
    ];
    await this.transport.run(
      [
        "find",
        dir,
        "-mindepth",
        "1",
        "-maxdepth",
        "1",
        "(",
        ...names,
        ")",
        "-exec",
        "rm",
        "-rf",
        "--",
        "{}",
        "+",
      ],
      { allowFailure: true },
    );
  }

  /** The session's namespace index (null: no namespace yet), read without loading any value. */
  async readNamespaceIndex(sessionDir: string): Promise<{ store: string; index: NamespaceIndex | null }> {
    const store = namespacePath(await this.resolve(sessionDir));
    const where = namespaceIndexPath(store);
    const raw = await this.transport.readFrom(where, 0, INDEX_MAX_BYTES);
    return { store, index: raw === null ? null : parseNamespaceIndex(raw, where) };
  }

  /**
   * The store as of now, for a detached cell to start from: the index copied, its data files
   * hard-linked (data files are never changed in place, so a link is a snapshot; a copy where
   * the file system refuses links). False when there is no namespace yet. A damaged index is
   * copied alone: the cell's runner says what is wrong with it.
   */
  async snapshotNamespace(sessionDir: string, paths: CellPaths): Promise<boolean> {
    const store = namespacePath(sessionDir);
    const where = namespaceIndexPath(store);
    const raw = await this.transport.readFrom(where, 0, INDEX_MAX_BYTES);
    if (raw === null) return false;
    const target = snapshotPath(paths);
    await this.transport.mkdir(target);
    let files: string[] = [];
    try {
      files = Object.keys(parseNamespaceIndex(raw, where).files).map((f) => join(store, f));
    } catch (err) {
      if (!(err instanceof NamespaceIndexError)) throw err;
    }
    for (let i = 0; i < files.length; i += LINK_BATCH) {
      const batch = files.slice(i, i + LINK_BATCH);
      try {
        await this.transport.run(["ln", "-f", "--", ...batch, target]);
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        await this.transport.run(["cp", "-f", "--", ...batch, target]);
      }
    }
    await this.transport.writeFile(namespaceIndexPath(target), raw, 0o600);
    return true;
  }

  /** A detached cell's snapshot, once the cell has ended; a missing one is fine. */
  async removeSnapshot(paths: CellPaths): Promise<void> {
    await this.transport.remove(snapshotPath(paths));
  }

  async writeInputAnswer(paths: CellPaths, seq: number, answer: InputAnswer): Promise<void> {
    await this.transport.writeFile(inputAnswerPath(paths, seq), JSON.stringify(answer), 0o600);
  }

  /** The runner deletes an answer once read; this removes one it never read. */
  async removeInputAnswer(paths: CellPaths, seq: number): Promise<void> {
    await this.transport.remove(inputAnswerPath(paths, seq));
  }
}
