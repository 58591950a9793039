/**
 * Service units the way Slurm bills them: a job's billing TRES is computed from its partition's
 * `TRESBillingWeights` (slurm.conf(5)): the sum over its TRES of count × weight (memory in MB, or
 * in the unit of a K/M/G/T/P suffix), or with `PriorityFlags=MAX_TRES` the largest per-node
 * weighted TRES; without weights, the number of CPUs. Slurm records the billing TRES as a whole
 * number, cut down (4.75 is billed 4: measured on Slurm 22.05). Alpine's SUs are billing × hours,
 * which is what sacct's `billing=` (AllocTRES) × Elapsed tells after the fact. Pure.
 */
import { parseMemory, parseTimeOption, SlurmOutputError } from "./slurm-time";
import { parseTres } from "./parse-squeue";

/** TRES name (lower case: `cpu`, `mem`, `node`, `gres/gpu`, `gres/gpu:a100`, `license/x`) → weight per unit. */
export type BillingWeights = ReadonlyMap<string, number>;

const UNIT_MB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 ** 2, P: 1024 ** 3 };

/**
 * `CPU=1.0,Mem=0.25G,GRES/gpu=108.2` → weights per CPU, per MB, per GPU. A memory weight with a
 * suffix is per that unit (`Mem=.25G` is 0.25 per GB).
 * @throws SlurmOutputError for an item that is not NAME=NUMBER[KMGTP].
 */
export function parseBillingWeights(text: string): BillingWeights {
  const out = new Map<string, number>();
  for (const item of text.split(",").filter((s) => s.trim() !== "")) {
    const m = /^([A-Za-z][\w/:.-]*)=(-?(?:\d+\.?\d*|\.\d+))([KMGTP])?$/i.exec(item.trim());
    if (!m) throw new SlurmOutputError(`not a TRESBillingWeights item: ${JSON.stringify(item)}`);
    const name = m[1]!.toLowerCase();
    const unit = (m[3] ?? "").toUpperCase();
    const weight = Number(m[2]) / (unit ? UNIT_MB[unit]! : 1);
    out.set(name, weight);
  }
  return out;
}

/** What a job is allocated, as far as a request tells. */
export interface Allocation {
  nodes: number;
  cpus: number;
  /** Total memory, MB (undefined: the request does not tell and the partition has no default). */
  memoryMb?: number;
  /** GPUs in all, and their type when the request names one. */
  gpus: number;
  gpuType?: string;
}

/** What a partition tells about billing and defaults. */
export interface BillingPartition {
  billingWeights: BillingWeights | null;
  defMemPerCpuMb: number | null;
  maxNodeCpus: number | null;
  maxNodeMemoryMb: number | null;
  defaultTimeSeconds: number | null;
}

const num = (v: string | undefined, dflt: number): number => {
  const m = /^(\d+)/.exec(v ?? "");
  return m ? Number(m[1]) : dflt;
};

/** GPUs and their type from `--gres gpu[:type]:N` (per node), `--gpus [type:]N`, `--gpus-per-node`. */
function gpusOf(get: (long: string) => string | undefined, nodes: number): { gpus: number; type?: string } {
  const parse = (item: string): { n: number; type?: string } => {
    const parts = item.split(":");
    const last = parts[parts.length - 1]!;
    const n = /^\d+$/.test(last) ? Number(last) : 1;
    const type = parts.find((p, i) => i > 0 && !/^\d+$/.test(p) && p.toLowerCase() !== "gpu");
    return type ? { n, type } : { n };
  };
  const sum = (value: string | undefined, filter: (s: string) => boolean, countOnly = false) => {
    let n = 0;
    let type: string | undefined;
    for (const item of (value ?? "").split(",").filter(filter)) {
      // --gpus and --gpus-per-node say [type:]count; read them as --gres's gpu[:type]:count.
      const p = parse(countOnly ? `gpu:${item.replace(/^gpu:?/i, "")}` : item);
      n += p.n;
      type ??= p.type;
    }
    return { n, type };
  };
  const gres = sum(get("--gres"), (g) => /^gpu(:|$)/i.test(g));
  if (gres.n) return { gpus: gres.n * nodes, ...(gres.type ? { type: gres.type } : {}) };
  const total = sum(get("--gpus"), Boolean, true);
  if (total.n) return { gpus: total.n, ...(total.type ? { type: total.type } : {}) };
  const perNode = sum(get("--gpus-per-node"), Boolean, true);
  return { gpus: perNode.n * nodes, ...(perNode.type ? { type: perNode.type } : {}) };
}

/** The allocation a request (sbatch options in long form) gets on this partition. */
export function allocationOf(
  pairs: readonly (readonly [string, string?])[],
  partition: BillingPartition,
): Allocation {
  const get = (long: string) => pairs.find(([k]) => k === long)?.[1];
  const has = (long: string) => pairs.some(([k]) => k === long);
  const nodes = num(get("--nodes"), 1);
  let cpus = num(get("--ntasks"), 1) * num(get("--cpus-per-task"), 1);
  if (has("--exclusive") && partition.maxNodeCpus) cpus = Math.max(cpus, partition.maxNodeCpus * nodes);
  let memoryMb: number | undefined;
  const mem = get("--mem");
  const memPerCpu = get("--mem-per-cpu");
  if (mem !== undefined) {
    const perNode = parseMemory(mem);
    // --mem=0 is the whole node's memory.
    memoryMb = (perNode === 0 ? (partition.maxNodeMemoryMb ?? undefined) : perNode) ?? undefined;
    if (memoryMb !== undefined) memoryMb *= nodes;
  } else if (memPerCpu !== undefined) memoryMb = parseMemory(memPerCpu) * cpus;
  else if (partition.defMemPerCpuMb) memoryMb = partition.defMemPerCpuMb * cpus;
  const { gpus, type } = gpusOf(get, nodes);
  return {
    nodes,
    cpus,
    gpus,
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(type ? { gpuType: type } : {}),
  };
}

/**
 * The billing TRES of an allocation as Slurm records it (SUs per hour on Alpine); undefined when
 * the weights need the memory and the request does not tell it.
 */
export function billingRate(
  alloc: Allocation,
  weights: BillingWeights | null,
  maxTres = false,
): number | undefined {
  if (!weights || weights.size === 0) return alloc.cpus;
  const counts = new Map<string, number>([
    ["cpu", alloc.cpus],
    ["node", alloc.nodes],
    ["gres/gpu", alloc.gpus],
  ]);
  if (alloc.gpuType) counts.set(`gres/gpu:${alloc.gpuType.toLowerCase()}`, alloc.gpus);
  if (alloc.memoryMb !== undefined) counts.set("mem", alloc.memoryMb);
  let sum = 0;
  let max = 0;
  let global = 0;
  for (const [name, weight] of weights) {
    if (name === "mem" && alloc.memoryMb === undefined) return undefined;
    const count = counts.get(name) ?? 0;
    if (name.startsWith("license/") || name.startsWith("bb/")) global += count * weight;
    else max = Math.max(max, (count * weight) / alloc.nodes);
    sum += count * weight;
  }
  // The epsilon keeps a float like 2.9999999999 (0.1 + 0.2 ...) from losing a whole unit.
  return Math.max(0, Math.floor((maxTres ? max * alloc.nodes + global : sum) + 1e-9));
}

/** Service units of `rate` billing over `seconds`. */
export function serviceUnits(rate: number, seconds: number): number {
  return (rate * seconds) / 3600;
}

/** The time limit a request runs under: its --time, else the partition's DefaultTime. */
export function limitSeconds(
  pairs: readonly (readonly [string, string?])[],
  partition: BillingPartition,
): number | null {
  const t = pairs.find(([k]) => k === "--time")?.[1];
  return t !== undefined ? parseTimeOption(t) : partition.defaultTimeSeconds;
}

/** The `billing=` of sacct's AllocTRES, undefined when absent. */
export function billingOfTres(allocTres: string): number | undefined {
  const v = parseTres(allocTres).get("billing");
  return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
}

/** SUs as people read them: "0.02 SU", "1.5 SU", "216 SU", "<0.01 SU". */
export function formatServiceUnits(su: number): string {
  if (su > 0 && su < 0.01) return "<0.01 SU";
  if (su >= 100) return `${Math.round(su)} SU`;
  if (su >= 10) return `${su.toFixed(1).replace(/\.0$/, "")} SU`;
  return `${su.toFixed(2).replace(/\.?0+$/, "") || "0"} SU`;
}
