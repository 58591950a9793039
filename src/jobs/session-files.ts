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
 *   <session dir>/cells/0007.namespace/         the snapshot a detached cell, an array or an srun
 *                                               cell starts from: hard links to the store's files
 *                                               (removed when a detached or srun cell ends)
 *   <session dir>/cells/0007.tasks/17.*         an array cell's task 17: events, out, err, and
 *                                               17.namespace/, its own store (seeded from the snapshot)
 *   <session dir>/cells/0007.ranks/3.*          an srun cell's task of rank 3 (rank 0 uses 0007.*)
 *   <session dir>/cells/0007.ranks/size         how many srun tasks the job has (SLURM_NTASKS)
 *   <session dir>/cells/0007.gather.json        what a `%slurm gather` cell collects
 *   <session dir>/cells/0007.sh.user            a %%bash cell's own script, sourced by its job script
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

/** A part of a cell's job (an array task, an srun task) has the files of a cell, and a namespace store. */
export interface PartPaths extends CellPaths {
  namespace: string;
}

/**
 * The files of one array task (`index` a number, or job-script.ts's TASK_INDEX / RANK_INDEX mark
 * that the job script turns into the running task's index).
 */
export function partPaths(cell: CellPaths, unit: "tasks" | "ranks", index: number | string): PartPaths {
  const base = join(partsDir(cell, unit), String(index));
  return {
    code: cell.code,
    script: cell.script,
    events: `${base}.events.jsonl`,
    stdout: `${base}.out`,
    stderr: `${base}.err`,
    namespace: `${base}.namespace`,
  };
}

export function partsDir(cell: CellPaths, unit: "tasks" | "ranks"): string {
  return cell.code.replace(/\.py$/, `.${unit}`);
}

/** Where an srun cell's job writes its number of tasks (SLURM_NTASKS) before it starts srun. */
export function rankCountPath(cell: CellPaths): string {
  return `${partsDir(cell, "ranks")}/size`;
}

export function gatherSpecPath(cell: CellPaths): string {
  return cell.code.replace(/\.py$/, ".gather.json");
}

/** A %%bash cell's script as the user wrote it (its job script sources it). */
export function userScriptPath(cell: CellPaths): string {
  return `${cell.script}.user`;
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
  recorded(job: SubmittedJob): Promise<RecordedOutput> {
    return this.recordedAt(cellPaths(job.sessionDir, job.seq));
  }

  /** The same for one array task (`tasks`) or srun task (`ranks`) of a cell's job. */
  recordedPart(job: SubmittedJob, unit: "tasks" | "ranks", index: number): Promise<RecordedOutput> {
    const cell = cellPaths(job.sessionDir, job.seq);
    return this.recordedAt(unit === "ranks" && index === 0 ? cell : partPaths(cell, unit, index));
  }

  /** The code a cell's job ran (for `%slurm rerun`); null once the file is gone. */
  async cellCode(job: SubmittedJob): Promise<string | null> {
    const buf = await this.transport.readFrom(cellPaths(job.sessionDir, job.seq).code, 0, REPLAY_MAX_BYTES);
    return buf ? buf.toString("utf8") : null;
  }

  /** The namespace a cell's job started from, as of its submission (a detached or array cell's). */
  snapshotOf(job: SubmittedJob): string {
    return snapshotPath(cellPaths(job.sessionDir, job.seq));
  }

  /** How many tasks an srun cell's job has; undefined before it has started (or once purged). */
  async rankCount(job: SubmittedJob): Promise<number | undefined> {
    const buf = await this.transport.readFrom(rankCountPath(cellPaths(job.sessionDir, job.seq)), 0, 64);
    const n = Number(buf?.toString("utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }

  /** Where an array task saved its namespace (a store directory). */
  taskNamespace(job: SubmittedJob, task: number): string {
    return partPaths(cellPaths(job.sessionDir, job.seq), "tasks", task).namespace;
  }

  private async recordedAt(paths: CellPaths): Promise<RecordedOutput> {
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

  /**
   * A store's index as it is now (null: none). Not through `readFrom`: over SSH that keeps a handle
   * open for files that grow, and the index is replaced whole at every save (written aside, renamed
   * over), so a kept handle would go on reading the old one.
   */
  private async readIndex(where: string): Promise<Buffer | null> {
    const st = await this.transport.stat(where);
    if (!st) return null;
    if (st.size > INDEX_MAX_BYTES)
      throw new NamespaceIndexError(
        `${where} is ${st.size} bytes: not a namespace index (at most ${INDEX_MAX_BYTES})`,
      );
    return this.transport.readFile(where).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === "ENOENT" || (err as { code?: unknown }).code === 2)
        return null; // removed meanwhile
      throw err;
    });
  }

  /** The session's namespace index (null: no namespace yet), read without loading any value. */
  async readNamespaceIndex(sessionDir: string): Promise<{ store: string; index: NamespaceIndex | null }> {
    const store = namespacePath(await this.resolve(sessionDir));
    const where = namespaceIndexPath(store);
    const raw = await this.readIndex(where);
    return { store, index: raw === null ? null : parseNamespaceIndex(raw, where) };
  }

  /**
   * A store as of now (the session's, or an array's first snapshot for a rerun), for a detached,
   * array or srun cell to start from: the index copied, its data files
   * hard-linked (data files are never changed in place, so a link is a snapshot; a copy where
   * the file system refuses links). False when there is no namespace yet. A damaged index is
   * copied alone: the cell's runner says what is wrong with it.
   */
  async snapshotNamespace(store: string, paths: CellPaths): Promise<boolean> {
    const where = namespaceIndexPath(store);
    const raw = await this.readIndex(where);
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

  /** A detached (or srun) cell's snapshot, once the cell has ended; a missing one is fine. */
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
