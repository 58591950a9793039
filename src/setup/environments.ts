/**
 * `alpine-kernel env create|update|list`: the cells' conda environment, built as a Slurm job on the
 * build partition (never on the login node), from an environment file on this machine.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Config } from "../config/config";
import { InputError } from "../errors";
import { listCondaEnvs, type CondaEnv } from "../jobs/conda-envs";
import { runEnvBuild, type BuildOutcome, type BuildProgress } from "../jobs/slurm/env-build";
import { validateAgainstCluster } from "../magics/validate";
import { CellOptions } from "../session/cell-options";
import type { ClusterSession } from "./cluster-session";

/** The environment.yml shipped with alpine-kernel (Python 3.11, IPython, dill, numpy, pandas, matplotlib). */
export function bundledEnvironmentFile(): string {
  return resolve(__dirname, "..", "..", "environment.yml");
}

export interface EnvFile {
  path: string;
  text: string;
  /** `name:` in the file, if any. */
  name?: string;
  /** What the cells will miss, said before a build that takes minutes. */
  warnings: string[];
}

/** The environment file: the one given, else ./environment.yml, else the one alpine-kernel ships. */
export function readEnvFile(given: string | undefined, cwd = process.cwd()): EnvFile {
  const path = given
    ? resolve(cwd, given)
    : existsSync(join(cwd, "environment.yml"))
      ? join(cwd, "environment.yml")
      : bundledEnvironmentFile();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError(
      "BAD_ENV_FILE",
      `cannot read the environment file ${path}: ${(err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new InputError(
      "BAD_ENV_FILE",
      `${path} is not valid YAML: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const deps = (data as { dependencies?: unknown } | null)?.dependencies;
  if (typeof data !== "object" || data === null || !Array.isArray(deps))
    throw new InputError("BAD_ENV_FILE", `${path} is not an environment file: it needs a dependencies: list`);
  const names = deps
    .filter((d): d is string => typeof d === "string")
    .map((d) =>
      d
        .split("::")
        .pop()!
        .trim()
        .split(/[\s=<>!~]/)[0]!
        .toLowerCase(),
    );
  const pipNames = deps
    .flatMap((d) =>
      typeof d === "object" && d !== null && Array.isArray((d as { pip?: unknown }).pip)
        ? (d as { pip: unknown[] }).pip
        : [],
    )
    .map((d) =>
      String(d)
        .trim()
        .split(/[\s=<>!~[]/)[0]!
        .toLowerCase(),
    );
  const has = (n: string) => names.includes(n) || pipNames.includes(n);
  const warnings: string[] = [];
  if (!has("python"))
    warnings.push("it does not list python: the cell runner needs Python 3.8 or newer (add python=3.11)");
  for (const extra of ["ipython", "dill"])
    if (!has(extra))
      warnings.push(
        `it does not list ${extra}, which cells want (${extra === "dill" ? "to carry functions, classes and more from cell to cell" : "for display, magics and tracebacks"})`,
      );
  const name = (data as { name?: unknown }).name;
  return { path, text, warnings, ...(typeof name === "string" && name ? { name } : {}) };
}

export interface EnvBuildOptions {
  action: "create" | "update";
  file?: string;
  name?: string;
  partition?: string;
  time?: string;
}

/** The environment's name: --name, else the configuration's conda_env, else the file's name:. */
export function environmentName(opts: EnvBuildOptions, config: Config, file: EnvFile): string {
  const name = opts.name ?? config.environment.conda_env ?? file.name;
  if (!name)
    throw new InputError(
      "BAD_ENV_FILE",
      `no environment name: give --name NAME (or environment.conda_env in ${config.source}, or name: in ${file.path})`,
    );
  return name;
}

/** Builds (or updates) the environment as a job; progress through `listener`. */
export async function buildEnvironment(
  cluster: ClusterSession,
  opts: EnvBuildOptions,
  file: EnvFile,
  listener: (p: BuildProgress) => void,
  signal?: AbortSignal,
): Promise<BuildOutcome & { name: string; partition: string }> {
  const { config } = cluster;
  const name = environmentName(opts, config, file);
  const partition = opts.partition ?? config.environment.build_partition;
  const time = opts.time ?? config.environment.build_time;
  const info = await cluster.discovery.get();
  // The account the cells are charged to (their defaults, or the site's required default).
  const cells = await new CellOptions(config, cluster.discovery).effective(undefined);
  const account = cells.sbatch.find(([k]) => k === "--account")?.[1];
  // The build partition and time are checked as a cell's would be: "no partition 'acompil' — did you mean ...".
  validateAgainstCluster(
    [["--partition", partition], ["--time", time], ...(account ? [["--account", account] as const] : [])],
    info,
    { renamedPartitions: config.slurm.renamed_partitions },
  );
  if (opts.action === "create") {
    const existing = (await listCondaEnvs(cluster.transport, config.environment.modules)).find(
      (e) => e.name === name,
    );
    if (existing)
      throw new InputError(
        "ENV_EXISTS",
        `the conda environment '${name}' exists already (${existing.path}): update it with \`alpine-kernel env update --name ${name}${opts.file ? ` --file ${opts.file}` : ""}\`, or choose another --name`,
      );
  }
  const outcome = await runEnvBuild(
    cluster.transport,
    cluster.scheduler,
    {
      action: opts.action,
      name,
      file: file.text,
      modules: config.environment.modules,
      partition,
      time,
      ...(account ? { account } : {}),
    },
    config.work_dir,
    listener,
    signal,
  );
  return { ...outcome, name, partition };
}

/** The user's environments, the configured one marked. */
export async function listEnvironments(
  cluster: ClusterSession,
): Promise<(CondaEnv & { configured: boolean })[]> {
  const configured = cluster.config.environment.conda_env;
  return (await listCondaEnvs(cluster.transport, cluster.config.environment.modules)).map((e) => ({
    ...e,
    configured: e.name === configured || e.path === configured,
  }));
}
