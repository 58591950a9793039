/**
 * Whether a cell's own Slurm options fit in a held allocation, and if not, why — in words the
 * status line can show ("it asks for --mem 64G; allocation 123 has 4G"). Pure.
 *
 * Only the cell's own options are compared (its `%%slurm` line, `#SBATCH` lines and profile): the
 * configuration's and `%slurm` defaults apply to jobs, and a user who allocated chose the
 * allocation's resources for the cells that follow. Anything that is a property of a job rather
 * than a resource (mail, a start time, a name, requeueing) makes the cell a job of its own.
 */
import type { SbatchPair } from "../job-script";
import { formatDuration, formatMemory, parseMemory, parseTimeOption } from "../slurm/slurm-time";
import type { JobStatus } from "../scheduler";

/** What an allocation holds, from the options it was asked with and what squeue says it got. */
export interface AllocationShape {
  jobId: string;
  partition?: string;
  cpus?: number;
  memMB?: number;
  gpus: number;
  gpuType?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  exclusive: boolean;
  /** Seconds left before its time limit (undefined: not running yet, or no limit). */
  remaining?: number;
  /** The options it was asked with: a cell repeating one of them asks for nothing new. */
  asked: readonly SbatchPair[];
}

export type Fit = { fits: true } | { fits: false; why: string };

/** Options that make a job of its own whatever their value, and what to call them. */
const JOB_ONLY: Readonly<Record<string, string>> = {
  "--begin": "a start time",
  "--mail-type": "mail",
  "--mail-user": "mail",
  "--job-name": "a job name",
  "--requeue": "requeueing",
};

const valueOf = (pairs: readonly SbatchPair[], long: string) => pairs.find(([k]) => k === long)?.[1];
const has = (pairs: readonly SbatchPair[], long: string) => pairs.some(([k]) => k === long);

/** GPUs asked for by `--gres gpu[:type]:N`, `--gpus [type:]N` or `--gpus-per-node [type:]N`. */
export function gpuRequest(pairs: readonly SbatchPair[]): { count: number; type?: string } | undefined {
  const gres = valueOf(pairs, "--gres");
  if (gres !== undefined) {
    for (const item of gres.split(",")) {
      const parts = item.split(":");
      if (parts[0] !== "gpu") continue;
      const last = parts[parts.length - 1]!;
      const count = parts.length > 1 && /^\d+$/.test(last) ? Number(last) : 1;
      const type =
        parts.length === 3 ? parts[1] : parts.length === 2 && !/^\d+$/.test(last) ? last : undefined;
      return { count, ...(type ? { type } : {}) };
    }
  }
  const gpus = valueOf(pairs, "--gpus") ?? valueOf(pairs, "--gpus-per-node");
  if (gpus !== undefined) {
    const parts = gpus.split(":");
    const last = parts[parts.length - 1]!;
    const count = /^\d+$/.test(last) ? Number(last) : 1;
    const type = parts.length > 1 ? parts[0] : /^\d+$/.test(last) ? undefined : last;
    return { count, ...(type ? { type } : {}) };
  }
  return undefined;
}

function cpusOf(pairs: readonly SbatchPair[]): number | undefined {
  const c = valueOf(pairs, "--cpus-per-task");
  return c !== undefined && /^\d+$/.test(c) ? Number(c) : undefined;
}

/** Total memory asked for, in MB (`--mem`, or `--mem-per-cpu` × CPUs). */
function memOf(pairs: readonly SbatchPair[], cpus: number): number | undefined {
  const mem = valueOf(pairs, "--mem");
  if (mem !== undefined) return parseMemory(mem);
  const perCpu = valueOf(pairs, "--mem-per-cpu");
  return perCpu !== undefined ? parseMemory(perCpu, "--mem-per-cpu") * cpus : undefined;
}

const UNIT_MB: Readonly<Record<string, number>> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** MB of a memory size as `formatMemory` shows it (`16G`, `15.6G`, `4000M`). */
function shownMemoryMB(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(text);
  return m ? Math.round(Number(m[1]) * UNIT_MB[m[2]!]!) : undefined;
}

/** The allocation as asked for (`%slurm allocate` options), refined by squeue once it runs. */
export function shapeOf(
  jobId: string,
  asked: readonly SbatchPair[],
  status?: JobStatus,
  remaining?: number,
): AllocationShape {
  const gpu = gpuRequest(asked);
  const cpus = status?.cpus ?? cpusOf(asked);
  const shown = status?.memory ? shownMemoryMB(status.memory) : undefined;
  const memMB = shown ?? memOf(asked, cpus ?? 1);
  return {
    jobId,
    partition: status?.partition ?? valueOf(asked, "--partition"),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(memMB !== undefined ? { memMB } : {}),
    gpus: status?.gpus ?? gpu?.count ?? 0,
    ...(gpu?.type ? { gpuType: gpu.type } : {}),
    ...(valueOf(asked, "--account") ? { account: valueOf(asked, "--account") } : {}),
    ...(valueOf(asked, "--qos") ? { qos: valueOf(asked, "--qos") } : {}),
    ...(valueOf(asked, "--constraint") ? { constraint: valueOf(asked, "--constraint") } : {}),
    exclusive: has(asked, "--exclusive"),
    asked,
    ...(remaining !== undefined ? { remaining } : {}),
  };
}

/** Whether a cell with these own options runs inside the allocation. */
export function fitCell(own: readonly SbatchPair[], a: AllocationShape): Fit {
  const no = (why: string): Fit => ({ fits: false, why });
  // The options the allocation itself was asked with (a profile's cells repeat them) are no news:
  // a repeated --time is not "as long again", a repeated --begin no new start time.
  const news = own.filter(([k, v]) => !a.asked.some(([ak, av]) => ak === k && av === v));
  const alloc = `allocation ${a.jobId}`;
  for (const [k] of news) {
    const what = JOB_ONLY[k];
    if (what) return no(`it asks for ${what} (${k}), which only a job of its own has`);
  }
  const partition = valueOf(own, "--partition");
  if (partition && a.partition && partition !== a.partition)
    return no(`it asks for partition ${partition}; ${alloc} is on ${a.partition}`);
  const nodes = valueOf(own, "--nodes");
  if (nodes && nodes !== "1") return no(`it asks for ${nodes} nodes; ${alloc} runs cells in one process`);
  const tasks = valueOf(own, "--ntasks");
  if (tasks && tasks !== "1") return no(`it asks for ${tasks} tasks; ${alloc} runs cells in one process`);
  const cpus = cpusOf(own);
  if (cpus !== undefined && a.cpus !== undefined && cpus > a.cpus)
    return no(`it asks for ${cpus} CPUs; ${alloc} has ${a.cpus}`);
  const mem = memOf(own, cpus ?? 1);
  if (mem !== undefined && mem === 0 && !a.exclusive)
    return no(
      `it asks for a whole node's memory (--mem 0); ${alloc} has ${a.memMB ? formatMemory(a.memMB) : "less"}`,
    );
  if (mem !== undefined && mem > 0 && a.memMB !== undefined && mem > a.memMB)
    return no(`it asks for ${formatMemory(mem)} of memory; ${alloc} has ${formatMemory(a.memMB)}`);
  const gpu = gpuRequest(own);
  if (gpu && gpu.count > a.gpus)
    return no(
      a.gpus === 0
        ? `it asks for ${gpu.count === 1 ? "a GPU" : `${gpu.count} GPUs`}; ${alloc} has none`
        : `it asks for ${gpu.count} GPUs; ${alloc} has ${a.gpus}`,
    );
  if (gpu?.type && a.gpuType && gpu.type !== a.gpuType)
    return no(`it asks for ${gpu.type} GPUs; ${alloc} has ${a.gpuType}`);
  const account = valueOf(own, "--account");
  if (account && a.account && account !== a.account)
    return no(`it is charged to ${account}; ${alloc} to ${a.account}`);
  const qos = valueOf(own, "--qos");
  if (qos && qos !== a.qos) return no(`it asks for QoS ${qos}; ${alloc} has ${a.qos ?? "the default"}`);
  const constraint = valueOf(own, "--constraint");
  if (constraint && constraint !== a.constraint)
    return no(`it asks for nodes with ${constraint}; ${alloc} was not asked for them`);
  if (has(own, "--exclusive") && !a.exclusive)
    return no(`it asks for a node of its own; ${alloc} shares its node`);
  const time = valueOf(news, "--time");
  const seconds = time === undefined ? null : parseTimeOption(time);
  if (seconds !== null && a.remaining !== undefined && seconds > a.remaining)
    return no(`it asks for --time ${time}; ${alloc} has ${formatDuration(a.remaining)} left`);
  return { fits: true };
}
