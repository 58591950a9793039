/** `alpine-kernel env create|update|list`: the terminal side of setup/environments.ts. */
import { loadConfig, type Config } from "../config/config";
import { InputError } from "../errors";
import type { BuildProgress } from "../jobs/slurm/env-build";
import { openCluster, type ClusterSession } from "../setup/cluster-session";
import { buildEnvironment, listEnvironments, readEnvFile, type EnvBuildOptions } from "../setup/environments";
import { shortDuration } from "../session/status-display";
import { ProgressLine } from "./progress";
import { TerminalPrompter } from "./terminal-prompt";

const say = (line: string) => process.stderr.write(`${line}\n`);

function slurmConfig(): Config {
  const config = loadConfig();
  if (config.backend !== "slurm")
    throw new InputError(
      "CONFIG",
      `environments are built as Slurm jobs, and ${config.source} uses the local backend: run \`alpine-kernel init\` (or set backend: slurm)`,
    );
  return config;
}

/** Follows a build on the terminal: its output, and a line saying where it stands. */
export function progressListener(progress: ProgressLine, partition: string): (p: BuildProgress) => void {
  let jobId = "";
  let last = "";
  let state = "submitted";
  return (p) => {
    if (p.kind === "submitted") {
      jobId = p.jobId;
      say(`Submitted job ${p.jobId} to ${partition} (files in ${p.dir})`);
    } else if (p.kind === "status") {
      const s = p.status;
      state =
        s.state === "RUNNING"
          ? `running${s.node ? ` on ${s.node}` : ""}`
          : s.state === "PENDING"
            ? `pending${s.reason && s.reason !== "None" ? ` (${s.reason})` : ""}`
            : s.state.toLowerCase();
    } else {
      progress.print(p.text);
      last = progress.lastLine(p.text) ?? last;
    }
    progress.set(`job ${jobId} on ${partition}: ${state}`, last);
  };
}

/** Builds an environment on an open cluster session; returns the summary line. */
export async function buildOnCluster(cluster: ClusterSession, opts: EnvBuildOptions): Promise<string> {
  const file = readEnvFile(opts.file);
  say(`Environment file: ${file.path}`);
  for (const w of file.warnings) say(`! ${file.path}: ${w}`);
  const progress = new ProgressLine();
  const abort = new AbortController();
  const onInt = () => {
    say("\nCancelling the build job …");
    abort.abort();
  };
  process.once("SIGINT", onInt);
  try {
    const partition = opts.partition ?? cluster.config.environment.build_partition;
    const r = await buildEnvironment(
      cluster,
      opts,
      file,
      progressListener(progress, partition),
      abort.signal,
    );
    progress.done();
    const extras = `IPython ${r.python.ipython ? "✓" : "✗"}, dill ${r.python.dill ? "✓" : "✗"}`;
    const use =
      r.name === cluster.config.environment.conda_env
        ? "cells use it (environment.conda_env)"
        : `cells use it with \`%slurm --env ${r.name}\`, or set environment.conda_env: ${r.name} in ${cluster.config.source}`;
    return `✓ environment '${r.name}' ready: Python ${r.python.version} at ${r.python.path} (${extras}); job ${r.jobId} on ${r.partition} took ${shortDuration(r.seconds)}; ${use}`;
  } finally {
    progress.done();
    process.removeListener("SIGINT", onInt);
  }
}

export async function envBuildCommand(opts: EnvBuildOptions): Promise<number> {
  const config = slurmConfig();
  const cluster = await openCluster(config, new TerminalPrompter(), say);
  try {
    console.log(await buildOnCluster(cluster, opts));
    return 0;
  } finally {
    await cluster.close();
  }
}

export async function envListCommand(): Promise<number> {
  const config = slurmConfig();
  const cluster = await openCluster(config, new TerminalPrompter(), say);
  try {
    const envs = await listEnvironments(cluster);
    if (!envs.length) console.log("No conda environments yet: `alpine-kernel env create` builds one.");
    const width = Math.max(...envs.map((e) => e.name.length), 4);
    for (const e of envs) console.log(`${e.configured ? "*" : " "} ${e.name.padEnd(width)}  ${e.path}`);
    if (envs.length && !envs.some((e) => e.configured) && config.environment.conda_env)
      console.log(
        `(the configured environment '${config.environment.conda_env}' is not among them: \`alpine-kernel env create --name ${config.environment.conda_env}\`)`,
      );
    return 0;
  } finally {
    await cluster.close();
  }
}
