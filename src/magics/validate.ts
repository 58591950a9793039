/**
 * A cell's effective sbatch options checked against what the cluster has, before anything is
 * submitted: sbatch's own refusals ("Requested node configuration is not available") do not say
 * which option is wrong, nor what to write instead. Pure.
 */
import { parseArraySpec } from "../jobs/array/array-spec";
import type { ClusterInfo, PartitionInfo } from "../jobs/slurm/cluster-info";
import { formatDuration, formatMemory, parseMemory, parseTimeOption } from "../jobs/slurm/slurm-time";
import { closest } from "./sbatch-args";
import { MagicError, type SbatchPair } from "./types";

export interface ValidateOptions {
  /** Old partition name → new one (Alpine renamed `amilan` to `acpu`), for "did you mean". */
  renamedPartitions: Record<string, string>;
}

function unknownPartition(name: string, info: ClusterInfo, renamed: Record<string, string>): MagicError {
  const names = info.partitions.map((p) => p.name);
  const renamedTo = Object.hasOwn(renamed, name) ? renamed[name] : undefined;
  if (renamedTo && names.includes(renamedTo)) {
    return new MagicError(
      `no partition '${name}' — did you mean '${renamedTo}'? (${name} was renamed ${renamedTo})`,
    );
  }
  const guess = closest(name, names);
  if (guess) return new MagicError(`no partition '${name}' — did you mean '${guess}'?`);
  const dflt = info.partitions.find((p) => p.isDefault);
  return new MagicError(
    `no partition '${name}': the partitions are ${names.join(", ")}${dflt ? ` (default ${dflt.name})` : ""}`,
  );
}

/** GPUs a job asks for in all, and the option that asked (for the message). */
function gpusRequested(get: (long: string) => string | undefined): { count: number; asked: string } {
  const nodes = Number(/^(\d+)/.exec(get("--nodes") ?? "1")?.[1] ?? 1);
  const countOf = (item: string): number =>
    Number(/:(\d+)$/.exec(item)?.[1] ?? (/^\d+$/.test(item) ? item : 1));
  let best = { count: 0, asked: "" };
  const consider = (long: string, perNode: boolean, items: string[]): void => {
    const count = items.reduce((sum, item) => sum + countOf(item), 0) * (perNode ? nodes : 1);
    if (count > best.count) best = { count, asked: `${long}=${get(long)}` };
  };
  const gres = get("--gres");
  if (gres)
    consider(
      "--gres",
      true,
      gres.split(",").filter((g) => /^gpu(:|$)/i.test(g)),
    );
  const gpus = get("--gpus");
  if (gpus) consider("--gpus", false, gpus.split(","));
  const perNode = get("--gpus-per-node");
  if (perNode) consider("--gpus-per-node", true, perNode.split(","));
  return best;
}

/** ", or use a partition with bigger nodes: amem" — when there is one. */
function orBigger(info: ClusterInfo, fits: (p: PartitionInfo) => boolean, what: string): string {
  const others = info.partitions.filter(fits).map((p) => p.name);
  return others.length ? `, or use a partition ${what}: ${others.join(", ")}` : "";
}

function checkLimits(p: PartitionInfo, get: (long: string) => string | undefined, info: ClusterInfo): void {
  const time = get("--time");
  if (time !== undefined && p.maxTimeSeconds !== null) {
    const secs = parseTimeOption(time);
    if (secs === null || secs > p.maxTimeSeconds) {
      const limit = formatDuration(p.maxTimeSeconds);
      const longer = info.partitions
        .filter((o) => o !== p && (o.maxTimeSeconds === null || (secs !== null && o.maxTimeSeconds >= secs)))
        .map((o) => o.name);
      throw new MagicError(
        `--time=${time} is above ${p.name}'s limit of ${limit}; ask for at most ${limit} or use another partition` +
          (longer.length ? ` (${longer.join(", ")} allow${longer.length === 1 ? "s" : ""} it)` : ""),
      );
    }
  }

  const gpus = gpusRequested(get);
  if (gpus.count > 0 && p.gpus === 0) {
    const gpuParts = info.partitions.filter((o) => o.gpus > 0).map((o) => o.name);
    throw new MagicError(
      gpuParts.length
        ? `partition ${p.name} has no GPUs (${gpus.asked}): use a GPU partition, e.g. -p ${gpuParts[0]} (GPU partitions: ${gpuParts.join(", ")})`
        : `partition ${p.name} has no GPUs (${gpus.asked}), and no partition of this cluster has any: drop ${gpus.asked.split("=")[0]}`,
    );
  }
  if (gpus.count > p.gpus) {
    throw new MagicError(
      `${gpus.asked} asks for ${gpus.count} GPUs but ${p.name} has ${p.gpus} in all; ask for at most ${p.gpus}` +
        orBigger(info, (o) => o.gpus >= gpus.count, "with more GPUs"),
    );
  }

  const maxMem = p.maxNodeMemoryMb;
  const cpusText = get("--cpus-per-task");
  const cpus = cpusText ? Number(cpusText) : 1;
  const mem = get("--mem");
  if (mem !== undefined && maxMem !== null && parseMemory(mem) > maxMem) {
    const need = parseMemory(mem);
    throw new MagicError(
      `--mem=${mem} is more than any node of ${p.name} has (${maxMem}M = ${formatMemory(maxMem)}); ask for at most --mem=${maxMem}M` +
        orBigger(info, (o) => (o.maxNodeMemoryMb ?? 0) >= need, "with bigger nodes"),
    );
  }
  const perCpu = get("--mem-per-cpu");
  if (perCpu !== undefined && maxMem !== null && parseMemory(perCpu) * cpus > maxMem) {
    const need = parseMemory(perCpu) * cpus;
    throw new MagicError(
      `--mem-per-cpu=${perCpu} for ${cpus} CPU${cpus === 1 ? "" : "s"} is ${formatMemory(need)}, more than any node of ${p.name} has (${maxMem}M = ${formatMemory(maxMem)}); ask for less` +
        orBigger(info, (o) => (o.maxNodeMemoryMb ?? 0) >= need, "with bigger nodes"),
    );
  }
  if (cpusText && p.maxNodeCpus !== null && cpus > p.maxNodeCpus) {
    throw new MagicError(
      `--cpus-per-task=${cpus} is more than a node of ${p.name} has (${p.maxNodeCpus} CPUs); ask for at most ${p.maxNodeCpus}` +
        orBigger(info, (o) => (o.maxNodeCpus ?? 0) >= cpus, "with bigger nodes"),
    );
  }
}

/**
 * `--array` against the cluster's MaxArraySize (task ids must be below it) and max_array_tasks
 * (tasks per array): sbatch's own refusal says only "Invalid job array specification".
 */
function checkArray(spec: string | undefined, info: ClusterInfo): void {
  if (spec === undefined) return;
  const { tasks } = parseArraySpec(spec);
  const last = tasks[tasks.length - 1] ?? 0;
  if (info.maxArraySize !== undefined && last >= info.maxArraySize) {
    const top = info.maxArraySize - 1;
    throw new MagicError(
      `--array ${spec}: task ids go up to ${last}, but this cluster's MaxArraySize is ${info.maxArraySize}, so ids must be 0–${top}; number the tasks within 0–${top} and compute the parameter from task_id (e.g. value = offset + task_id), or split the sweep into cells that each use ids 0–${top} with their own offset`,
    );
  }
  if (info.maxArrayTasks !== undefined && tasks.length > info.maxArrayTasks) {
    throw new MagicError(
      `--array ${spec} has ${tasks.length} tasks, but this cluster allows ${info.maxArrayTasks} per array (SchedulerParameters max_array_tasks); split the sweep into cells of at most ${info.maxArrayTasks} tasks`,
    );
  }
}

function checkAccountAndQos(
  get: (long: string) => string | undefined,
  info: ClusterInfo,
  partitions: string[],
): void {
  const account = get("--account") ?? info.defaultAccount;
  const assocs = info.associations;
  if (assocs.length === 0) return; // not discovered: sbatch will say
  const accounts = [...new Set(assocs.map((a) => a.account))];
  const mine = assocs.filter((a) => a.account === account);
  if (get("--account") !== undefined && mine.length === 0) {
    const guess = closest(account!, accounts);
    throw new MagicError(
      `you have no association with account '${account}'${guess ? ` — did you mean '${guess}'? Your` : ": your"} accounts are ${accounts.join(", ")}`,
    );
  }
  const usable = mine.filter(
    (a) => a.partition === "" || partitions.length === 0 || partitions.includes(a.partition),
  );
  if (mine.length > 0 && usable.length === 0) {
    const theirs = mine.map((a) => a.partition).join(", ");
    throw new MagicError(
      `account ${account} cannot be used on partition ${partitions.join(",")}: it covers ${theirs}; use one of those or another account`,
    );
  }

  const qos = get("--qos");
  if (qos === undefined) return;
  for (const name of partitions) {
    const p = info.partitions.find((o) => o.name === name);
    if (p && p.allowQos.length > 0 && !p.allowQos.includes(qos)) {
      throw new MagicError(
        `QoS '${qos}' is not allowed on partition ${p.name}: use one of ${p.allowQos.join(", ")}`,
      );
    }
  }
  const allowed = [...new Set(usable.flatMap((a) => a.qos))];
  if (allowed.length > 0 && !allowed.includes(qos)) {
    throw new MagicError(`account ${account} cannot use QoS '${qos}': use one of ${allowed.join(", ")}`);
  }
}

/**
 * Checks a cell's effective options (defaults merged with the cell's own) against the cluster:
 * the partition (the cell's `--partition`, else the cluster's default) exists; `--time`, GPUs,
 * `--mem`/`--mem-per-cpu` and `--cpus-per-task` fit it; the account and QoS are the user's; an
 * `--array` keeps to the cluster's array limits.
 * Limits are checked only for a single partition (`-p a,b` lets Slurm pick one that fits).
 * Returns the options, with `--account` set to the user's default account when absent (Alpine
 * refuses jobs without one).
 * @throws MagicError naming the option, the limit and what to ask for instead.
 */
export function validateAgainstCluster(
  sbatch: readonly SbatchPair[],
  info: ClusterInfo,
  opts: ValidateOptions,
): SbatchPair[] {
  const get = (long: string): string | undefined => {
    for (let i = sbatch.length - 1; i >= 0; i--) if (sbatch[i]![0] === long) return sbatch[i]![1] ?? "";
    return undefined;
  };
  const asked = get("--partition");
  const dflt = info.partitions.find((p) => p.isDefault);
  const names = asked ? asked.split(",") : dflt ? [dflt.name] : [];
  const parts = names.map((name) => {
    const p = info.partitions.find((o) => o.name === name);
    if (!p) throw unknownPartition(name, info, opts.renamedPartitions);
    return p;
  });
  if (parts.length === 1) checkLimits(parts[0]!, get, info);
  checkAccountAndQos(get, info, names);
  checkArray(get("--array"), info);

  const out = [...sbatch];
  if (get("--account") === undefined && info.defaultAccount) out.push(["--account", info.defaultAccount]);
  return out;
}
