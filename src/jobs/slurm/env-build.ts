/**
 * Building the cells' conda environment as a Slurm job on the build partition (acompile on
 * Alpine): CURC forbids building on login nodes, and a solve can take many minutes. The
 * environment file travels to the cluster, a job runs `conda env create|update` there, its output
 * is followed as it grows, and its last step asks the new environment's Python about itself (as
 * python-check does for cells), so success means "cells can run in it", not just "conda exited 0".
 */
import { posix } from "node:path";
import type { Transport } from "../../cluster/transport";
import { shellQuote } from "../../cluster/transport";
import { ClusterError, errorMessage } from "../../errors";
import { PROBE_CODE, probeAnswered, readProbe, type PythonInfo } from "../python-check";
import type { JobStatus, Scheduler } from "../scheduler";

export interface EnvBuild {
  action: "create" | "update";
  /** The environment's name (`conda activate NAME`). */
  name: string;
  /** The environment file's text, read where the command runs. */
  file: string;
  /** Modules that give `conda` (environment.modules). */
  modules: readonly string[];
  partition: string;
  time: string;
  account?: string;
}

/** What a build is doing, for a progress line. */
export type BuildProgress =
  | { kind: "submitted"; jobId: string; dir: string }
  | { kind: "status"; status: JobStatus }
  | { kind: "output"; text: string };

export interface BuildOutcome {
  jobId: string;
  /** The new environment's Python (the job's last step). */
  python: PythonInfo;
  seconds: number;
  /** The build's directory on the cluster (environment file, script, output). */
  dir: string;
}

const NAME = /^[A-Za-z0-9_.+-]+$/;

/** The build job's script. Pure. */
export function renderEnvBuildScript(
  b: EnvBuild,
  paths: { file: string; output: string },
  tag: string,
): string {
  if (!NAME.test(b.name))
    throw new ClusterError("ENV_BUILD_FAILED", `not a conda environment name: ${JSON.stringify(b.name)}`);
  const fail = (what: string) => `{ echo ${shellQuote(`alpine-kernel: ${what} failed`)}; exit 97; }`;
  return [
    "#!/bin/bash -l",
    `#SBATCH --job-name=ak-env-${b.name}`,
    `#SBATCH --partition=${b.partition}`,
    `#SBATCH --time=${b.time}`,
    ...(b.account ? [`#SBATCH --account=${b.account}`] : []),
    `#SBATCH --output=${paths.output}`,
    `#SBATCH --comment=${tag}`,
    `# alpine-kernel: conda env ${b.action} ${b.name}, as a job (CURC asks that builds never run on login nodes).`,
    ...b.modules.map((m) => `module load ${shellQuote(m)} || ${fail(`module load ${m}`)}`),
    `conda env ${b.action} --file ${shellQuote(paths.file)} --name ${shellQuote(b.name)} || ${fail(`conda env ${b.action}`)}`,
    `conda activate ${shellQuote(b.name)} || ${fail(`conda activate ${b.name}`)}`,
    `exec python -c ${shellQuote(PROBE_CODE)}`,
    "",
  ].join("\n");
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

/**
 * Submits the build, follows it to its end (statuses and output through `listener`), and returns
 * the new environment's Python; throws ENV_BUILD_FAILED with the output's last lines otherwise.
 * `signal` cancels the job (a person pressed Ctrl-C).
 */
export async function runEnvBuild(
  transport: Transport,
  scheduler: Scheduler,
  b: EnvBuild,
  workDir: string,
  listener: (p: BuildProgress) => void,
  signal?: AbortSignal,
): Promise<BuildOutcome> {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  const dir = posix.join(await transport.resolvePath(workDir), "envs", `${b.name}-${b.action}-${stamp}`);
  const paths = { file: posix.join(dir, "environment.yml"), output: posix.join(dir, "build.out") };
  const script = posix.join(dir, "build.sh");
  const tag = `alpine-kernel:env/${b.name}/${stamp}`;
  await transport.writeFile(paths.file, b.file);
  await transport.writeFile(script, renderEnvBuildScript(b, paths, tag), 0o755);
  const jobId = await scheduler.submit({
    scriptPath: script,
    workDir: dir,
    stdoutPath: paths.output,
    stderrPath: paths.output,
    eventsPath: posix.join(dir, "none.events.jsonl"),
    loginShell: true,
    tag,
  });
  listener({ kind: "submitted", jobId, dir });
  const started = Date.now();
  let output = "";
  let offset = 0;
  let reading: Promise<void> | undefined;
  // One read at a time (a slow SFTP read must not be overtaken by the next tick's, at the same offset).
  const readMore = (): Promise<void> =>
    (reading ??= (async () => {
      const chunk = await transport.readFrom(paths.output, offset).catch(() => null);
      if (!chunk?.length) return;
      offset += chunk.length;
      const text = chunk.toString("utf8");
      output += text;
      listener({ kind: "output", text });
    })().finally(() => (reading = undefined)));
  const cancel = () => void scheduler.cancel(jobId).catch(() => {});
  signal?.addEventListener("abort", cancel);
  try {
    await new Promise<void>((resolve) => {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(timer);
        stop();
        resolve();
      };
      // The script's last step is the new Python answering the probe: once its line is in the
      // output, the build is over (as a cell's end marker is), without waiting for squeue to
      // notice the job is gone — with the watcher backing off, that took seconds.
      const timer = setInterval(
        () => void readMore().then(() => (probeAnswered(output) ? end() : undefined)),
        500,
      );
      const stop = scheduler.watch(jobId, (status) => listener({ kind: "status", status }), end);
    });
    await readMore();
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
  // The probe answered: conda and activation succeeded (each stops the script otherwise); any
  // other ending is told by accounting.
  const final = probeAnswered(output)
    ? { state: "COMPLETED", exitCode: 0 }
    : await scheduler.final(jobId).catch((err: unknown) => {
        throw new ClusterError(
          "ENV_BUILD_FAILED",
          `job ${jobId}: accounting did not answer: ${errorMessage(err)}`,
        );
      });
  const seconds = (Date.now() - started) / 1000;
  const failed = (why: string) =>
    new ClusterError(
      "ENV_BUILD_FAILED",
      `the environment build (job ${jobId} on ${b.partition}) ${why}.\nLast lines of its output (${paths.output}):\n${lastLines(output, 15) || "(none)"}`,
    );
  if (signal?.aborted) throw failed(`was cancelled; the environment '${b.name}' may be half built`);
  const step = /^alpine-kernel: (.*) failed$/m.exec(output)?.[1];
  if (final.state !== "COMPLETED")
    throw failed(
      step ? `failed: '${step}' did not succeed` : `ended ${final.state} (exit code ${final.exitCode})`,
    );
  try {
    const python = readProbe(
      { modules: b.modules, setup: [], conda_env: b.name, python: "python" },
      { stdout: output, stderr: "", code: 0 },
    );
    return { jobId, python, seconds, dir };
  } catch (err) {
    throw failed(`built an environment whose Python cannot run cells: ${errorMessage(err)}`);
  }
}
