/**
 * Which job script a cell gets, and the files that go with it: the Python runner once, once per
 * array task, on every srun task, or the cell itself as a bash script. Pure: the backends write
 * what this returns.
 */
import type { CellJobSpec } from "./backend";
import {
  RANK_INDEX,
  TASK_INDEX,
  renderJobScript,
  type EnvironmentSetup,
  type SbatchPair,
  type ScriptHeader,
} from "./job-script";
import { renderBashJobScript, renderSrunJobScript } from "./job-script-shapes";
import {
  gatherSpecPath,
  partPaths,
  partsDir,
  rankCountPath,
  userScriptPath,
  type CellPaths,
} from "./session-files";

export interface ScriptContext {
  paths: CellPaths;
  /** Absolute on the cluster, created. */
  workDir: string;
  runnerPath: string;
  environment: EnvironmentSetup;
  /** The namespace store the cell reads: the session's, or a detached cell's snapshot. */
  namespaceIn: string;
  /** The store it saves its namespace to (absent: nowhere, e.g. detached cells). */
  namespaceOut?: string;
  /** The store as of submission (session-files' snapshotPath): each array task starts its own
   *  store from it, an srun cell's other ranks read it. */
  snapshot: string;
  header: ScriptHeader;
}

export interface CellScript {
  script: string;
  /** Files to write before the script (the cell's own script, a gather spec). */
  files: { path: string; data: string }[];
  /** Directories the job writes into, which must exist before it starts (sbatch creates none). */
  dirs: string[];
}

/** Where one runner process reads and writes. */
interface RunnerFiles {
  events: string;
  namespaceIn: string;
  namespaceOut?: string;
  /** A store that `namespaceIn` (its own) starts as a copy of: an array task's. */
  namespaceSeed?: string;
  stdin: boolean;
}

/** The runner's command line (docs/cell-runner.md), for one process. */
function runnerArgs(spec: CellJobSpec, code: string, f: RunnerFiles): string[] {
  const args = ["--code", code, "--events", f.events, "--execution-count", String(spec.executionCount)];
  args.push("--namespace-in", f.namespaceIn);
  if (f.namespaceOut) args.push("--namespace-out", f.namespaceOut);
  if (f.namespaceSeed) args.push("--namespace-seed", f.namespaceSeed);
  if (f.stdin) args.push("--allow-stdin");
  if (spec.silent) args.push("--silent");
  if (!spec.storeHistory) args.push("--no-store-history");
  return args;
}

/** The cell's job script and what it needs, for its mode (and array). */
export function cellScript(spec: CellJobSpec, ctx: ScriptContext): CellScript {
  const { paths } = ctx;
  const files: CellScript["files"] = [];
  const dirs: string[] = [];
  const array = spec.array;
  const part = array ? partPaths(paths, "tasks", TASK_INDEX) : undefined;
  if (array) dirs.push(partsDir(paths, "tasks"));
  const header: ScriptHeader = {
    ...ctx.header,
    stdoutPath: part?.stdout ?? ctx.header.stdoutPath,
    stderrPath: part?.stderr ?? ctx.header.stderrPath,
    sbatch: array ? [...ctx.header.sbatch, ["--array", array.spec] as SbatchPair] : ctx.header.sbatch,
  };

  if (spec.mode === "bash") {
    const user = userScriptPath(paths);
    files.push({ path: user, data: spec.code });
    const script = renderBashJobScript({
      ...header,
      workDir: ctx.workDir,
      userScriptPath: user,
      eventsPath: part?.events ?? paths.events,
    });
    return { script, files, dirs };
  }

  const extra: string[] = [];
  if (spec.gather) {
    const gather = gatherSpecPath(paths);
    files.push({ path: gather, data: JSON.stringify(spec.gather) });
    extra.push("--gather", gather);
  }

  if (spec.mode === "srun") {
    const rank = partPaths(paths, "ranks", RANK_INDEX);
    dirs.push(partsDir(paths, "ranks"));
    const names = ["--env-name", "rank=SLURM_PROCID", "--env-name", "size=SLURM_NTASKS"];
    const rank0 = runnerArgs(spec, paths.code, {
      events: paths.events,
      namespaceIn: ctx.namespaceIn,
      namespaceOut: ctx.namespaceOut,
      stdin: spec.allowStdin && !spec.detached,
    });
    const others = runnerArgs(spec, paths.code, {
      events: rank.events,
      namespaceIn: ctx.snapshot,
      stdin: false,
    });
    const script = renderSrunJobScript({
      ...header,
      workDir: ctx.workDir,
      environment: ctx.environment,
      runnerPath: ctx.runnerPath,
      rank0Args: [...rank0, ...names, ...extra],
      rankArgs: [...others, ...names, ...extra],
      rankStdout: rank.stdout,
      rankStderr: rank.stderr,
      sizePath: rankCountPath(paths),
    });
    return { script, files, dirs };
  }

  const args = part
    ? [
        ...runnerArgs(spec, paths.code, {
          events: part.events,
          namespaceIn: part.namespace,
          namespaceOut: part.namespace,
          namespaceSeed: ctx.snapshot,
          stdin: false,
        }),
        "--env-name",
        "task_id=SLURM_ARRAY_TASK_ID",
      ]
    : runnerArgs(spec, paths.code, {
        events: paths.events,
        namespaceIn: ctx.namespaceIn,
        namespaceOut: ctx.namespaceOut,
        stdin: spec.allowStdin && !spec.detached,
      });
  const script = renderJobScript({
    ...header,
    workDir: ctx.workDir,
    environment: ctx.environment,
    runnerPath: ctx.runnerPath,
    runnerArgs: [...args, ...extra],
  });
  return { script, files, dirs };
}
