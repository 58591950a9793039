/**
 * Which other requests might start a waiting cell sooner: a shorter --time (one that fits a backfill
 * window or ends before a maintenance reservation), another partition the user may use whose nodes
 * are not the same, or fewer CPUs or less memory. Each is asked of Slurm with `sbatch --test-only`.
 * Pure.
 */
import type { ClusterInfo, PartitionInfo } from "./cluster-info";
import { formatDuration, formatMemory, parseMemory, parseTimeOption } from "./slurm-time";

/** One request to try: the options to change, long form, and how a user writes them. */
export interface HintCandidate {
  overrides: string[];
  /** `-t 0:30:00`, `-p amem`, `-c 2`, `--mem 2G`. */
  label: string;
  partition?: string;
}

/** The job's own options, from its script's `#SBATCH --long=value` lines (as renderJobScript writes them). */
export function scriptOptions(script: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of script.split("\n")) {
    const m = /^#SBATCH (--[a-z][a-z0-9-]*)(?:=(.*))?$/.exec(line.trim());
    if (!m) continue;
    let value = m[2] ?? "";
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2)
      value = value.slice(1, -1).replace(/\\(["\\])/g, "$1");
    out.set(m[1]!, value);
  }
  return out;
}

/** Time limits worth trying, longest first: each a common backfill window. */
const TIME_STEPS = [4 * 3600, 3600, 1800];

function gpusAsked(opts: ReadonlyMap<string, string>): number {
  const text = [opts.get("--gres"), opts.get("--gpus"), opts.get("--gpus-per-node")]
    .filter(Boolean)
    .join(",");
  let n = 0;
  for (const item of text.split(",").filter((g) => /^(gpu|\d)/i.test(g)))
    n += Number(/:(\d+)$/.exec(item)?.[1] ?? (/^\d+$/.test(item) ? item : 1));
  return n;
}

function fits(
  p: PartitionInfo,
  seconds: number | null,
  cpus: number,
  memMb: number | null,
  gpus: number,
): boolean {
  if (p.state !== "UP") return false;
  if (seconds !== null && p.maxTimeSeconds !== null && seconds > p.maxTimeSeconds) return false;
  if (p.maxNodeCpus !== null && cpus > p.maxNodeCpus) return false;
  if (memMb !== null && p.maxNodeMemoryMb !== null && memMb > p.maxNodeMemoryMb) return false;
  // A CPU cell is not sent to GPU nodes (sites refuse or frown on it); a GPU cell needs them.
  return gpus === 0 ? p.gpus === 0 : p.gpus >= gpus;
}

function usablePartitions(info: ClusterInfo, account: string | undefined): Set<string> | undefined {
  const mine = info.associations.filter((a) => account === undefined || a.account === account);
  if (mine.length === 0 || mine.some((a) => a.partition === "")) return undefined; // any partition
  return new Set(mine.map((a) => a.partition));
}

/**
 * The requests to try for a job with these options, most useful first, at most `max`. `partition`
 * is where it waits now (its --partition, else the cluster's default).
 */
export function hintCandidates(
  opts: ReadonlyMap<string, string>,
  info: ClusterInfo,
  partition: string | undefined,
  max = 5,
): HintCandidate[] {
  const current = info.partitions.find((p) => p.name === partition);
  const timeText = opts.get("--time");
  const seconds = timeText
    ? parseTimeOption(timeText)
    : (current?.defaultTimeSeconds ?? current?.maxTimeSeconds ?? null);
  const cpus = Number(opts.get("--cpus-per-task") ?? 1) * Number(opts.get("--ntasks") ?? 1);
  let memMb: number | null = null;
  try {
    const mem = opts.get("--mem");
    memMb = mem ? parseMemory(mem) : null;
  } catch {
    memMb = null;
  }
  const gpus = gpusAsked(opts);
  const out: HintCandidate[] = [];

  for (const step of TIME_STEPS.filter((s) => seconds === null || s < seconds).slice(0, 2)) {
    const t = formatDuration(step);
    out.push({ overrides: [`--time=${t}`], label: `-t ${t}` });
  }
  const usable = usablePartitions(info, opts.get("--account") ?? info.defaultAccount);
  for (const p of info.partitions) {
    if (p.name === partition || (usable && !usable.has(p.name))) continue;
    if (current?.nodes && p.nodes === current.nodes) continue; // the same nodes: the same wait
    if (!fits(p, seconds, cpus, memMb, gpus)) continue;
    out.push({ overrides: [`--partition=${p.name}`], label: `-p ${p.name}`, partition: p.name });
  }
  const perTask = Number(opts.get("--cpus-per-task") ?? 1);
  if (perTask > 1) {
    const half = Math.ceil(perTask / 2);
    out.push({ overrides: [`--cpus-per-task=${half}`], label: `-c ${half}` });
  }
  if (memMb !== null && memMb >= 2048) {
    const half = formatMemory(Math.floor(memMb / 2));
    out.push({ overrides: [`--mem=${half}`], label: `--mem ${half}` });
  }
  return out.slice(0, max);
}
