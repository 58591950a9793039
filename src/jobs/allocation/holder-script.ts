/**
 * The holder job of an allocation: an ordinary batch script (same environment set-up as a cell's
 * job, `renderJobScript`) whose Python is the runner's supervisor (`--supervise`), which holds the
 * allocation and runs the cells sent to it. Pure.
 */
import { renderJobScript, type EnvironmentSetup, type SbatchPair } from "../job-script";
import type { AllocationPaths } from "./allocation-paths";

export interface HolderScriptInput {
  notebook: string;
  sessionId: string;
  n: number;
  /** The allocation's sbatch options (defaults merged with `%slurm allocate`'s own). */
  sbatch: readonly SbatchPair[];
  paths: AllocationPaths;
  /** Where the cells' process starts (absolute on the cluster). */
  workDir: string;
  environment: EnvironmentSetup;
  runnerPath: string;
  /** The namespace file the cells share with per-cell jobs. */
  namespacePath: string;
  /** Slurm signals the daemon this long before the time limit, so that it saves the namespace. */
  saveAheadSeconds: number;
  /** The umask the holder and its Python run with (environment.umask). */
  umask: string;
}

/** The mark the holder carries (#SBATCH --comment), to find it again: alpine-kernel:<kernel>/allocation-<n>. */
export function holderTag(sessionId: string, n: number): string {
  return `alpine-kernel:${sessionId}/allocation-${n}`;
}

export function holderJobName(notebook: string): string {
  const base =
    notebook
      .replace(/\.ipynb$/, "")
      .replace(/[^A-Za-z0-9_.-]+/g, "_")
      .slice(0, 40) || "notebook";
  return `ak-${base}-alloc`;
}

export function renderHolderScript(i: HolderScriptInput): string {
  return renderJobScript({
    jobName: holderJobName(i.notebook),
    sbatch: [
      ...i.sbatch,
      // Slurm's own notice of the time limit: the namespace is saved even if the server is away.
      ["--signal", `B:USR1@${Math.max(60, Math.round(i.saveAheadSeconds))}`],
      ["--comment", holderTag(i.sessionId, i.n)],
    ],
    stdoutPath: i.paths.stdout,
    stderrPath: i.paths.stderr,
    workDir: i.workDir,
    environment: i.environment,
    runnerPath: i.runnerPath,
    runnerArgs: ["--supervise", "--dir", i.paths.dir, "--namespace", i.namespacePath],
    umask: i.umask,
    description: `alpine-kernel allocation ${i.n} of ${i.notebook} (kernel ${i.sessionId}): cells run inside it`,
  });
}
