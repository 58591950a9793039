/**
 * `alpine-kernel init`: a researcher's first configuration, asked for in a few questions (each also
 * a flag): where the cluster is and who they are, then — connected, Duo answered on the terminal —
 * the account to charge (from their Slurm associations), the partitions there are, and the conda
 * environment cells run in (one they have, or one built now as a job on the build partition). It
 * writes a commented configuration that `alpine-kernel doctor` then checks.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Prompter } from "../cluster/prompts";
import { SshError } from "../cluster/ssh-connect";
import { resolveSshHost } from "../cluster/ssh-host-config";
import { parseConfig, type Config } from "../config/config";
import {
  ALPINE_BUILD_PARTITION,
  ALPINE_CELL_PARTITION,
  ALPINE_RESOURCE_PROFILES,
} from "../config/cluster-profiles";
import { AlpineKernelError, InputError } from "../errors";
import { listCondaEnvs } from "../jobs/conda-envs";
import { probePython, type PythonInfo } from "../jobs/python-check";
import { defaultAccount } from "../session/cell-options";
import { openCluster, type ClusterSession } from "./cluster-session";
import { renderConfig, type InitAnswers } from "./init-config";

/** How init asks: a terminal, or the defaults (--yes). */
export interface Asker {
  ask(question: string, suggested: string): Promise<string>;
  confirm(question: string, suggested: boolean): Promise<boolean>;
  say(line: string): void;
}

export interface InitOptions {
  /** A host name, a ~/.ssh/config alias, or "local" (on Alpine itself: no SSH). */
  host?: string;
  user?: string;
  sshConfig?: string;
  port?: number;
  account?: string;
  /** An existing conda environment, or the name of one to create with createEnv. */
  env?: string;
  createEnv?: boolean;
  envFile?: string;
  workDir?: string;
  acceptHostKey?: boolean;
  /** Overwrite an existing configuration (a copy is kept as .bak). */
  force?: boolean;
  /** Where to write (default: the configuration path). */
  configPath: string;
  /** Builds an environment on the open session (the env command's own progress display). */
  build(cluster: ClusterSession, name: string, file: string | undefined): Promise<string>;
}

const ALPINE_HOST = "login.rc.colorado.edu";

/** A configuration from the answers so far, to open the cluster with. */
function draft(answers: InitAnswers): Config {
  return parseConfig(renderConfig(answers), "(init)");
}

async function connect(
  answers: InitAnswers,
  opts: InitOptions,
  asker: Asker,
  prompter: Prompter,
): Promise<ClusterSession> {
  try {
    return await openCluster(draft(answers), prompter, asker.say);
  } catch (err) {
    if (!(err instanceof SshError && err.code === "UNKNOWN_HOST_KEY")) throw err;
    asker.say(err.message.split("\n").slice(0, 2).join("\n"));
    const trust =
      opts.acceptHostKey ??
      (await asker.confirm("Trust this host key and record it in your known_hosts?", false));
    if (!trust) throw err;
    // Recorded once the server proves it holds the key (ssh's accept-new); the file keeps strict checking.
    const once = { ...answers, hostKeyPolicy: "accept-new" as const };
    const session = await openCluster(draft(once), prompter, asker.say);
    return session;
  }
}

async function chooseAccount(cluster: ClusterSession, opts: InitOptions, asker: Asker): Promise<string> {
  const info = await cluster.discovery.get();
  const accounts = [...new Set(info.associations.map((a) => a.account))];
  asker.say(`✓ accounts you can charge: ${accounts.join(", ") || "(none)"}`);
  asker.say(
    `✓ partitions: ${info.partitions.map((p) => p.name + (p.isDefault ? " (default)" : "")).join(", ")}`,
  );
  if (opts.account) {
    if (accounts.length && !accounts.includes(opts.account))
      throw new InputError(
        "NO_ACCOUNT",
        `you have no association with account '${opts.account}': yours are ${accounts.join(", ")}`,
      );
    return opts.account;
  }
  let suggested: string;
  try {
    suggested = defaultAccount(info);
  } catch {
    suggested = accounts[0] ?? "";
  }
  if (accounts.length <= 1 && suggested) return suggested;
  const answer = (await asker.ask(`Account to charge (${accounts.join(", ")})`, suggested)).trim();
  const picked = accounts[Number(answer) - 1] ?? answer;
  if (!accounts.includes(picked))
    throw new InputError("NO_ACCOUNT", `'${answer}' is not one of your accounts: ${accounts.join(", ")}`);
  return picked;
}

async function chooseEnvironment(
  cluster: ClusterSession,
  opts: InitOptions,
  asker: Asker,
): Promise<{ name: string; python?: PythonInfo }> {
  const config = cluster.config;
  const envs = await listCondaEnvs(cluster.transport, config.environment.modules);
  const wanted = opts.env ?? config.environment.conda_env ?? "alpine-kernel";
  const have = envs.some((e) => e.name === wanted);
  let name = wanted;
  let create = opts.createEnv ?? false;
  if (!opts.env && !opts.createEnv) {
    if (envs.length) {
      asker.say(`Environments you have: ${envs.map((e) => e.name).join(", ")}`);
      const answer = (
        await asker.ask(
          "Environment for the cells (a name above, or a new name to create it)",
          have ? wanted : envs[0]!.name,
        )
      ).trim();
      name = answer || wanted;
      create = !envs.some((e) => e.name === name);
      if (
        create &&
        !(await asker.confirm(
          `Create "${name}" from ${opts.envFile ?? "environment.yml"} as a job on ${config.environment.build_partition}?`,
          true,
        ))
      )
        throw new InputError(
          "ENVIRONMENT_MISSING",
          `no environment chosen: run init again, or give --env NAME`,
        );
    } else {
      asker.say("Environments you have: none found");
      create = await asker.confirm(
        `Create "${name}" from ${opts.envFile ?? "environment.yml"} as a job on ${config.environment.build_partition}?`,
        true,
      );
      if (!create)
        asker.say(`(no environment: create one later with \`alpine-kernel env create --name ${name}\`)`);
    }
  } else if (!create && !have) {
    throw new InputError(
      "ENVIRONMENT_MISSING",
      `there is no conda environment '${wanted}' (yours: ${envs.map((e) => e.name).join(", ") || "none"}): give --create-env to build it`,
    );
  }
  if (create) {
    if (envs.some((e) => e.name === name))
      throw new InputError(
        "ENV_EXISTS",
        `the conda environment '${name}' exists already: give --env ${name} to use it`,
      );
    asker.say(await opts.build(cluster, name, opts.envFile));
    return { name };
  }
  const python = await probePython(cluster.transport, {
    ...config.environment,
    conda_env: name,
    python: config.environment.python ?? "python3",
  }).catch((err: unknown) => {
    if (
      err instanceof AlpineKernelError &&
      err.code !== "ENVIRONMENT_MISSING" &&
      err.code !== "PYTHON_TOO_OLD"
    )
      throw err;
    asker.say(`! ${(err as Error).message}`);
    return undefined;
  });
  if (python)
    asker.say(
      `✓ environment ${name}: Python ${python.version} (IPython ${python.ipython ? "✓" : "✗"}, dill ${python.dill ? "✓" : "✗"})`,
    );
  return { name, ...(python ? { python } : {}) };
}

/** Writes the file (0600: it names your account and host), keeping an old one as .bak when forced. */
function writeConfigFile(path: string, text: string, force: boolean): void {
  if (existsSync(path)) {
    if (!force)
      throw new InputError(
        "CONFIG_EXISTS",
        `${path} exists already: give --force to replace it (it is kept as ${path}.bak)`,
      );
    renameSync(path, `${path}.bak`);
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
}

/** Runs init; returns the path written. */
export async function runInit(opts: InitOptions, asker: Asker, prompter: Prompter): Promise<string> {
  if (existsSync(opts.configPath) && !opts.force) {
    if (!(await asker.confirm(`${opts.configPath} exists. Replace it (the old one is kept as .bak)?`, false)))
      throw new InputError("CONFIG_EXISTS", `${opts.configPath} exists already: give --force to replace it`);
    opts.force = true;
  }
  const host = (
    opts.host ??
    (await asker.ask(
      `Cluster: a host name, an alias of ~/.ssh/config, or "local" if you are on it`,
      ALPINE_HOST,
    ))
  ).trim();
  const local = host === "local";
  const answers: InitAnswers = { profile: local ? "local" : "alpine", condaEnv: "alpine-kernel" };
  if (!local) {
    const resolved = resolveSshHost(host, { configPath: opts.sshConfig, port: opts.port });
    if (resolved.hostName !== host)
      asker.say(`${host} is ${resolved.user}@${resolved.hostName}:${resolved.port} in your ssh config`);
    const user = (opts.user ?? (await asker.ask("Your username there", resolved.user))).trim();
    Object.assign(answers, {
      host,
      user,
      ...(opts.sshConfig ? { sshConfig: opts.sshConfig } : {}),
      ...(opts.port ? { port: opts.port } : {}),
    });
  }
  if (opts.workDir) answers.workDir = opts.workDir;
  const cluster = await connect(answers, opts, asker, prompter);
  try {
    answers.account = await chooseAccount(cluster, opts, asker);
    const info = await cluster.discovery.get();
    const names = info.partitions.map((p) => p.name);
    // A cluster without the profile's partitions keeps the profile but not its partition defaults.
    if (!names.includes(ALPINE_CELL_PARTITION))
      answers.defaultPartition = info.partitions.find((p) => p.isDefault)?.name;
    if (!names.includes(ALPINE_BUILD_PARTITION)) answers.buildPartition = answers.defaultPartition;
    answers.missingProfiles = Object.entries(ALPINE_RESOURCE_PROFILES)
      .filter(([, opts]) => !names.includes(/--partition (\S+)/.exec(opts)?.[1] ?? ""))
      .map(([n]) => n);
    const workDir = await cluster.transport.resolvePath(draft(answers).work_dir);
    await cluster.transport.mkdir(workDir);
    asker.say(`✓ work directory ${workDir}`);
    const { name } = await chooseEnvironment({ ...cluster, config: draft(answers) }, opts, asker);
    answers.condaEnv = name;
  } finally {
    await cluster.close();
  }
  const text = renderConfig(answers);
  parseConfig(text, opts.configPath); // what init writes, the kernel reads
  writeConfigFile(opts.configPath, text, opts.force ?? false);
  return opts.configPath;
}
