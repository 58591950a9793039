/**
 * `alpine-kernel doctor`: every piece a notebook needs, checked in the order they are met, one
 * verdict each with the exact fix. A check that cannot run because an earlier one failed says so
 * instead of failing in turn. The checks that reach the cluster use the command's own connection.
 */
import { existsSync } from "node:fs";
import type { Prompter } from "../cluster/prompts";
import { resolveSshHost } from "../cluster/ssh-host-config";
import { lookupKnownHosts } from "../cluster/known-hosts";
import { loadConfig, type Config } from "../config/config";
import { errorMessage } from "../errors";
import { findServerState } from "../kernel/server-connection";
import { listKernelSpecs } from "../kernel/kernelspec";
import { probePython } from "../jobs/python-check";
import { checkRunner } from "../jobs/runner-install";
import { cellEnvironment, extrasWarning } from "../session/cell-environment";
import { CellOptions } from "../session/cell-options";
import { VERSION } from "../version";
import { openCluster, type ClusterSession } from "./cluster-session";
import { checkWorkDir } from "./doctor-workdir";
import { submitTestJob } from "./doctor-submit";

export type Verdict = "ok" | "fail" | "skip";

export interface CheckResult {
  name: string;
  verdict: Verdict;
  /** What was found (✓) or what is wrong (✗), or why it was not checked. */
  detail: string;
  /** The exact thing to do (✗ only). */
  fix?: string;
}

const ok = (name: string, detail: string): CheckResult => ({ name, verdict: "ok", detail });
const fail = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  verdict: "fail",
  detail,
  ...(fix ? { fix } : {}),
});
const skip = (name: string, why: string): CheckResult => ({
  name,
  verdict: "skip",
  detail: `not checked: ${why}`,
});

export interface DoctorOptions {
  /** Also submit a real test job and time it. */
  submit: boolean;
  configPath?: string;
}

function configCheck(opts: DoctorOptions): { result: CheckResult; config?: Config } {
  try {
    const config = loadConfig(opts.configPath);
    const what = /no configuration file/.test(config.source)
      ? "no configuration file: the local backend, cells run on this machine (`alpine-kernel init` sets up Alpine)"
      : `${config.source} is valid (${config.profile ? `cluster_profile ${config.profile.name}, ` : ""}backend ${config.backend})`;
    return { result: ok("configuration", what), config };
  } catch (err) {
    return {
      result: fail(
        "configuration",
        errorMessage(err),
        "fix the file as the message says, or write a new one with `alpine-kernel init --force`",
      ),
    };
  }
}

function hostKeyCheck(config: Config): CheckResult {
  const c = config.cluster;
  if (c.transport === "local") return ok("host key", "no SSH (cluster.transport: local)");
  try {
    const host = resolveSshHost(c.host!, { configPath: c.ssh_config, user: c.user, port: c.port });
    const name = host.hostKeyAlias ?? host.hostName;
    const port = host.hostKeyAlias ? 22 : host.port;
    const found = lookupKnownHosts(host.userKnownHostsFiles, name, port).filter((e) => !e.marker);
    if (found.length)
      return ok(
        "host key",
        `${name}${port === 22 ? "" : `:${port}`} is in ${found[0]!.file}:${found[0]!.line}`,
      );
    const policy =
      c.host_key_policy ??
      (host.strictHostKeyChecking === "accept-new" || host.strictHostKeyChecking === "no"
        ? "accept-new"
        : "strict");
    if (policy === "accept-new")
      return ok("host key", `${name} is not known yet; it is recorded at the first connection (accept-new)`);
    return fail(
      "host key",
      `the host key of ${name}${port === 22 ? "" : `:${port}`} is not in ${host.userKnownHostsFiles.join(", ")}`,
      `run \`ssh -p ${host.port} ${host.user}@${host.hostName}\` once and accept the key after comparing its fingerprint with your site's, or run \`alpine-kernel init\` (it asks)`,
    );
  } catch (err) {
    return fail("host key", errorMessage(err), "fix cluster.host / cluster.ssh_config, or your ssh config");
  }
}

async function slurmCheck(cluster: ClusterSession): Promise<CheckResult> {
  const commands = ["sbatch", "squeue", "sacct", "scancel", "scontrol", "sinfo", "sacctmgr"];
  const script = `for c in ${commands.join(" ")}; do command -v "$c" >/dev/null 2>&1 || echo "missing $c"; done; sinfo --version 2>/dev/null`;
  const out = await cluster.transport.run(["sh", "-c", script], { timeoutMs: 60_000, allowFailure: true });
  const missing = out.stdout
    .split("\n")
    .filter((l) => l.startsWith("missing "))
    .map((l) => l.slice(8));
  if (missing.length)
    return fail(
      "Slurm commands",
      `${missing.join(", ")} not found on ${cluster.target}`,
      "connect to a login node of the cluster (on Alpine: login.rc.colorado.edu), where Slurm's commands are on the PATH",
    );
  const version = out.stdout.split("\n").find((l) => /^slurm/i.test(l)) ?? "Slurm";
  return ok("Slurm commands", `${commands.join(", ")} (${version.trim()})`);
}

async function accountCheck(cluster: ClusterSession): Promise<CheckResult> {
  const info = await cluster.discovery.get();
  const accounts = [...new Set(info.associations.map((a) => a.account))];
  try {
    const eff = await new CellOptions(cluster.config, cluster.discovery).effective(undefined);
    const account = eff.sbatch.find(([k]) => k === "--account")?.[1];
    if (!account) return ok("account", "none needed (Slurm's default; this cluster does not require one)");
    return ok("account", `${account} (yours: ${accounts.join(", ")})`);
  } catch (err) {
    return fail(
      "account",
      errorMessage(err),
      `set one of your accounts (${accounts.join(", ") || "none: ask your allocation's owner"}) in slurm.defaults: "--account NAME"`,
    );
  }
}

async function partitionsCheck(cluster: ClusterSession): Promise<CheckResult> {
  const { config, discovery } = cluster;
  const info = await discovery.get();
  const options = new CellOptions(config, discovery);
  const broken: string[] = [];
  const fixes: string[] = [];
  let dflt = "";
  try {
    dflt = (await options.effective(undefined)).partition ?? "";
  } catch (err) {
    broken.push(`the cells' defaults: ${errorMessage(err)}`);
    fixes.push("fix slurm.defaults");
  }
  for (const name of Object.keys(config.slurm.profiles)) {
    try {
      await options.effective({ sbatch: [], detach: false, profile: name });
    } catch (err) {
      broken.push(`profile ${name}: ${errorMessage(err)}`);
      fixes.push(`fix or replace slurm.profiles.${name}`);
    }
  }
  const build = config.environment.build_partition;
  if (config.backend === "slurm" && !info.partitions.some((p) => p.name === build)) {
    broken.push(`build partition '${build}' does not exist`);
    fixes.push(`set environment.build_partition to one of ${info.partitions.map((p) => p.name).join(", ")}`);
  }
  const down = info.partitions.filter((p) => p.name === dflt && p.state !== "UP");
  if (down.length) broken.push(`the default partition ${dflt} is ${down[0]!.state}`);
  if (broken.length)
    return fail("partitions", broken.join("; "), fixes.join("; ") || "pick another partition with %slurm -p");
  const profiles = Object.keys(config.slurm.profiles);
  return ok(
    "partitions",
    `cells go to ${dflt || "the default partition"}${profiles.length ? `; profiles ${profiles.join(", ")} fit` : ""} (${info.partitions.map((p) => p.name).join(", ")})`,
  );
}

async function environmentCheck(cluster: ClusterSession): Promise<CheckResult> {
  const { setup, source } = cellEnvironment(cluster.config, {});
  try {
    const info = await probePython(cluster.transport, setup);
    const warning = extrasWarning(info, setup);
    return ok(
      "environment",
      `${source}: Python ${info.version} at ${info.path} (IPython ${info.ipython ? "✓" : "✗"}, dill ${info.dill ? "✓" : "✗"})${warning ? ` — ${warning.replace(/^alpine-kernel: /, "").trim()}` : ""}`,
    );
  } catch (err) {
    return fail("environment", errorMessage(err));
  }
}

async function runnerCheck(cluster: ClusterSession): Promise<CheckResult> {
  const workDir = await cluster.transport.resolvePath(cluster.config.work_dir);
  const r = await checkRunner(cluster.transport, workDir);
  if (r.status === "differs")
    return fail(
      "runner",
      `the copy at ${r.dir} differs from this version's (${r.files.join(", ")})`,
      `remove it (\`rm -r ${r.dir}\`): the next cell installs it again`,
    );
  if (r.status === "current") return ok("runner", `${VERSION} installed at ${r.dir}`);
  return ok("runner", `${VERSION} not installed yet: the first cell installs it at ${r.dir}`);
}

async function serverCheck(): Promise<CheckResult> {
  const s = await findServerState();
  if (s.kind === "none")
    return ok("server", "not running: the first notebook starts it (or `alpine-kernel serve`)");
  if (s.kind === "stale")
    return fail(
      "server",
      `its runtime file names pid ${s.info.pid}, which does not answer at ${s.info.url}`,
      "run `alpine-kernel stop`; the next notebook starts a fresh server",
    );
  if (s.info.version !== VERSION)
    return fail(
      "server",
      `running ${s.info.version} at ${s.info.url}, but this alpine-kernel is ${VERSION}`,
      "run `alpine-kernel stop`: the next notebook starts this version (running cells are picked up)",
    );
  return ok("server", `running at ${s.info.url} (pid ${s.info.pid}, backend ${s.info.backend ?? "?"})`);
}

function kernelspecCheck(config: Config | undefined): CheckResult {
  const specs = listKernelSpecs();
  if (!specs.length)
    return fail(
      "kernelspec",
      "no alpine-kernel kernelspec where Jupyter looks",
      "run `alpine-kernel install --user`",
    );
  const stale = specs.filter((s) => s.argv.slice(0, 2).some((p) => !existsSync(p)));
  if (stale.length)
    return fail(
      "kernelspec",
      `${stale.map((s) => `${s.name} (${s.dir})`).join(", ")} runs ${stale[0]!.argv.slice(0, 2).join(" ")}, which is gone`,
      `install it again: \`alpine-kernel install --user${stale[0]!.profile ? ` --profile ${stale[0]!.profile}` : ""}\``,
    );
  const profiles = config?.slurm.profiles ?? {};
  const orphans = specs.filter((s) => s.profile && !Object.hasOwn(profiles, s.profile));
  if (orphans.length)
    return fail(
      "kernelspec",
      `${orphans.map((s) => s.name).join(", ")} start from profile ${orphans.map((s) => s.profile).join(", ")}, which the configuration no longer has`,
      `add it to slurm.profiles, or \`alpine-kernel uninstall --name ${orphans[0]!.name}\``,
    );
  return ok("kernelspec", specs.map((s) => `"${s.displayName}" (${s.dir})`).join(", "));
}

/** The checks made on the cluster, in order (each skipped, saying why, when it cannot run). */
const CLUSTER_CHECKS: readonly [string, (c: ClusterSession) => Promise<CheckResult>][] = [
  ["Slurm commands", slurmCheck],
  ["account", accountCheck],
  ["partitions", partitionsCheck],
  ["work directory", checkWorkDir],
  ["environment", environmentCheck],
  ["runner", runnerCheck],
];

/** Runs every check; `report` is told each result as it comes. */
export async function runDoctor(
  opts: DoctorOptions,
  prompter: Prompter,
  report: (r: CheckResult) => void,
  say: (line: string) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => {
    results.push(r);
    report(r);
  };
  const { result, config } = configCheck(opts);
  add(result);
  if (!config) {
    for (const n of ["host key", "cluster", ...CLUSTER_CHECKS.map(([name]) => name)])
      add(skip(n, "the configuration is not valid"));
  } else {
    add(hostKeyCheck(config));
    let cluster: ClusterSession | undefined;
    try {
      cluster = await openCluster(config, prompter, say);
      add(
        ok(
          "cluster",
          cluster.target === "this machine"
            ? "commands run on this machine (cluster.transport: local)"
            : `connected to ${cluster.target}`,
        ),
      );
    } catch (err) {
      add(
        fail(
          "cluster",
          errorMessage(err),
          "check cluster.host and your login (`ssh` to it by hand); `alpine-kernel login` answers Duo for the server",
        ),
      );
    }
    try {
      const slurm = config.backend === "slurm";
      let slurmOk = true;
      for (const [name, check] of CLUSTER_CHECKS) {
        if (!cluster) add(skip(name, "the cluster is not reachable"));
        else if (!slurm && ["Slurm commands", "account", "partitions"].includes(name))
          add(ok(name, "not needed (the local backend runs cells without Slurm)"));
        else if (!slurmOk && (name === "account" || name === "partitions"))
          add(skip(name, "Slurm's commands are missing"));
        else {
          const r = await check(cluster).catch((err: unknown) => fail(name, errorMessage(err)));
          if (name === "Slurm commands" && r.verdict === "fail") slurmOk = false;
          add(r);
        }
      }
      if (opts.submit) {
        const blocked = results.find((r) => r.verdict === "fail");
        if (!cluster || blocked) add(skip("test job", `${blocked?.name ?? "cluster"} failed first`));
        else
          add(await submitTestJob(cluster, say).catch((err: unknown) => fail("test job", errorMessage(err))));
      }
    } finally {
      await cluster?.close();
    }
  }
  add(await serverCheck());
  add(kernelspecCheck(config));
  return results;
}

/** One line per check: ✓/✗/– name: detail, and → the fix. */
export function formatResult(r: CheckResult): string {
  const mark = r.verdict === "ok" ? "✓" : r.verdict === "fail" ? "✗" : "–";
  // A message of several lines (a configuration error lists each key) stays on the check's line.
  const detail = r.detail
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ");
  return `${mark} ${r.name}: ${detail}${r.fix ? `\n    → ${r.fix}` : ""}`;
}
