/**
 * Cluster discovery: the commands that tell the partitions and the user's accounts, and their
 * parsers. Pure. Four commands, runnable at once:
 * - `scontrol show partition -o`: default, MaxTime, DefaultTime, AllowQos, state, GPUs (TRES);
 * - `sinfo -e -o %R|%c|%m`: CPUs and memory of the nodes of each partition — scontrol gives only
 *   totals, and Alpine's partitions mix node sizes (`-e` prints each size, not `min+`);
 * - `sacctmgr show user NAME withassoc`: associations and the default account in one answer;
 * - `scontrol show config`: PriorityFlags (MAX_TRES), for service-unit estimates.
 */
import { InputError } from "../../errors";
import type { Association, ClusterInfo, PartitionInfo } from "./cluster-info";
import { parseBillingWeights } from "./billing";
import { gpusOfTres, memoryOfTres, parseTres } from "./parse-squeue";
import { SlurmOutputError, parseSlurmDuration } from "./slurm-time";

/** Every partition's limits, one `Key=Value ...` line each. */
export const SCONTROL_PARTITIONS_ARGV: readonly string[] = ["scontrol", "--oneliner", "show", "partition"];

/** Node sizes per partition: one row per partition and distinct (CPUs, memory). */
export const SINFO_NODE_SIZES_ARGV: readonly string[] = [
  "sinfo",
  "--noheader",
  "--exact",
  "--format=%R|%c|%m",
];

/** The user's associations and default account (user|defaultaccount|account|partition|qos). */
export function sacctmgrUserArgv(user: string): string[] {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._@-]*$/.test(user))
    throw new InputError("BAD_USER", `not a cluster user name: ${JSON.stringify(user)}`);
  return [
    "sacctmgr",
    "--parsable2",
    "--noheader",
    "show",
    "user",
    user,
    "withassoc",
    "format=user,defaultaccount,account,partition,qos",
  ];
}

function lines(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.trim() !== "");
}

function keyValues(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const word of line.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    if (eq > 0) out.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return out;
}

function positiveInt(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

/**
 * `scontrol show partition -o` → partitions. The largest node of each partition comes from
 * `nodeSizes` (sinfo); without it, it is known only for one-node partitions (scontrol's TRES and
 * TotalCPUs are totals). A numeric MaxMemPerNode/MaxCPUsPerNode caps it, as Slurm caps a job.
 * @throws SlurmOutputError for a line without PartitionName or with an unreadable time.
 */
export function parseScontrolPartitions(
  stdout: string,
  nodeSizes?: ReadonlyMap<string, NodeSize>,
): PartitionInfo[] {
  return lines(stdout).map((line) => {
    const kv = keyValues(line);
    const name = kv.get("PartitionName");
    if (!name)
      throw new SlurmOutputError(
        `scontrol partition line without PartitionName: ${JSON.stringify(line.slice(0, 80))}`,
      );
    const tres = parseTres(kv.get("TRES") ?? "");
    const oneNode = kv.get("TotalNodes") === "1";
    const size = nodeSizes?.get(name);
    const allowQos = kv.get("AllowQos") ?? "ALL";
    return {
      name,
      isDefault: kv.get("Default") === "YES",
      maxTimeSeconds: parseSlurmDuration(kv.get("MaxTime") ?? "UNLIMITED"),
      defaultTimeSeconds: parseSlurmDuration(kv.get("DefaultTime") ?? "NONE"),
      gpus: gpusOfTres(tres),
      maxNodeMemoryMb: capped(
        size?.memoryMb ?? (oneNode ? memoryOfTres(tres) : undefined),
        kv.get("MaxMemPerNode"),
      ),
      maxNodeCpus: capped(
        size?.cpus ?? (oneNode ? positiveInt(kv.get("TotalCPUs")) : undefined),
        kv.get("MaxCPUsPerNode"),
      ),
      allowQos: allowQos === "ALL" ? [] : allowQos.split(",").filter(Boolean),
      state: kv.get("State") ?? "UNKNOWN",
      ...(kv.get("Nodes") ? { nodes: kv.get("Nodes") } : {}),
      billingWeights: kv.get("TRESBillingWeights")
        ? parseBillingWeights(kv.get("TRESBillingWeights")!)
        : null,
      defMemPerCpuMb: positiveInt(kv.get("DefMemPerCPU")),
    };
  });
}

/** A node size under a partition's per-node cap (`UNLIMITED` or a number); null when unknown. */
function capped(size: number | null | undefined, cap: string | undefined): number | null {
  if (size === null || size === undefined) return null;
  const limit = positiveInt(cap);
  return limit === null ? size : Math.min(size, limit);
}

/** Largest node of one partition. */
export interface NodeSize {
  cpus: number;
  memoryMb: number;
}

/**
 * `sinfo --noheader --exact -o '%R|%c|%m'` → the largest CPU count and memory of a node, per
 * partition (each over all its rows). A `+` (sinfo without `--exact`: "at least") is read as the
 * number before it.
 * @throws SlurmOutputError for a row that is not `name|cpus|mb`.
 */
export function parseSinfoNodes(stdout: string): Map<string, NodeSize> {
  const out = new Map<string, NodeSize>();
  for (const line of lines(stdout)) {
    const m = /^([^|]+)\|(\d+)\+?\|(\d+)\+?$/.exec(line.trim());
    if (!m) throw new SlurmOutputError(`sinfo row is not partition|cpus|memory: ${JSON.stringify(line)}`);
    const [, name = "", cpus = "", mem = ""] = m;
    const prev = out.get(name);
    out.set(name, {
      cpus: Math.max(Number(cpus), prev?.cpus ?? 0),
      memoryMb: Math.max(Number(mem), prev?.memoryMb ?? 0),
    });
  }
  return out;
}

function fields(line: string, counts: readonly number[], what: string): string[] {
  const f = line.split("|");
  if (!counts.includes(f.length))
    throw new SlurmOutputError(`sacctmgr row is not ${what}: ${JSON.stringify(line)}`);
  return f;
}

/**
 * The user's associations, from `sacctmgr ... -P -n` with `format=account,partition,qos` or the
 * discovery format `user,defaultaccount,account,partition,qos` ({@link sacctmgrUserArgv}).
 * Partition is empty when the association covers every partition.
 */
export function parseAssociations(stdout: string): Association[] {
  return lines(stdout).map((line) => {
    const f = fields(line, [3, 5], "account|partition|qos");
    const [account = "", partition = "", qos = ""] = f.slice(-3);
    return { account, partition, qos: qos.split(",").filter(Boolean) };
  });
}

/**
 * The default account from `sacctmgr show user NAME -P -n format=user,defaultaccount` or the
 * discovery format; undefined when sacctmgr does not know the user.
 */
export function parseDefaultAccount(stdout: string): string | undefined {
  const first = lines(stdout)[0];
  if (first === undefined) return undefined;
  return fields(first, [2, 5], "user|defaultaccount")[1] || undefined;
}

/** The scheduler's configuration: PriorityFlags (MAX_TRES changes how billing is summed) and the array limits. */
export const SCONTROL_CONFIG_ARGV: readonly string[] = ["scontrol", "show", "config"];

/** `PriorityFlags = MAX_TRES,...` in `scontrol show config` (absent with priority/basic). */
export function parseMaxTres(configText: string): boolean {
  const line = configText.split("\n").find((l) => /^PriorityFlags\s*=/.test(l));
  return line ? /\bMAX_TRES\b/.test(line.split("=").slice(1).join("=")) : false;
}

/** A `Name = value` line of `scontrol show config`, the value trimmed; undefined when absent. */
function configValue(configText: string, name: string): string | undefined {
  const line = configText.split("\n").find((l) => new RegExp(`^${name}\\s*=`).test(l));
  return line?.split("=").slice(1).join("=").trim();
}

/**
 * The job-array limits: MaxArraySize (task ids must be below it; 1001 unless set) and
 * SchedulerParameters' max_array_tasks (most tasks in one array), each when told.
 */
export function parseArrayLimits(configText: string): { maxArraySize?: number; maxArrayTasks?: number } {
  const out: { maxArraySize?: number; maxArrayTasks?: number } = {};
  const size = Number(configValue(configText, "MaxArraySize"));
  if (Number.isInteger(size) && size > 0) out.maxArraySize = size;
  const tasks = /(?:^|,)max_array_tasks=(\d+)/.exec(configValue(configText, "SchedulerParameters") ?? "");
  if (tasks && Number(tasks[1]) > 0) out.maxArrayTasks = Number(tasks[1]);
  return out;
}

/** Raw stdout of the discovery commands. */
export interface DiscoveryOutput {
  partitions: string;
  nodeSizes: string;
  user: string;
  /** `scontrol show config`, when it could be read. */
  config?: string;
}

/** The {@link ClusterInfo} told by the discovery commands' output. */
export function parseClusterInfo(out: DiscoveryOutput, discoveredAt: number): ClusterInfo {
  const info: ClusterInfo = {
    partitions: parseScontrolPartitions(out.partitions, parseSinfoNodes(out.nodeSizes)),
    associations: parseAssociations(out.user),
    discoveredAt,
  };
  const defaultAccount = parseDefaultAccount(out.user);
  if (defaultAccount) info.defaultAccount = defaultAccount;
  if (out.config && parseMaxTres(out.config)) info.billingMaxTres = true;
  if (out.config) Object.assign(info, parseArrayLimits(out.config));
  return info;
}
