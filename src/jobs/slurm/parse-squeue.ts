/**
 * The watcher's squeue: one `-O` format, read into {@link JobStatus}. Pure.
 *
 * Why this format (see test/fixtures/slurm/README.md):
 * - `Field:|` on every field: unpadded, never truncated, `|`-separated, each row ends with `|`.
 * - `JobArrayID`, not `JobID`: `-O JobID` prints the raw id of an array task (`32`), `JobArrayID`
 *   prints it as users and `scancel` know it (`27_0`, `27_[1-3]` for pending tasks, `24`).
 * - `tres-alloc` for memory and GPUs: `%m`/`MinMemory` is per node or per CPU without saying
 *   which, and `%b`/`tres-per-node` misses `--gpus`; tres-alloc is the total for every form.
 * - `Name` last: a name holding `|` still parses (everything after the tenth `|`).
 */
import type { JobState, JobStatus } from "../scheduler";
import { SlurmOutputError, formatMemory, parseMemory } from "./slurm-time";

const FIELDS = [
  "JobArrayID",
  "State",
  "Reason",
  "Partition",
  "NodeList",
  "StartTime",
  "TimeUsed",
  "TimeLimit",
  "NumCPUs",
  "tres-alloc",
  "Name",
] as const;

/** The `squeue -O` format the watcher asks for. */
export const SQUEUE_FORMAT = FIELDS.map((f) => `${f}:|`).join(",");

/**
 * squeue arguments before `--jobs IDS`. Without `--states`, squeue given job ids lists only jobs
 * still in the queue (checked on 22.05): an ended job is simply absent, which is how the watcher
 * learns that it is gone.
 */
export const SQUEUE_ARGS: readonly string[] = ["--noheader", "-O", SQUEUE_FORMAT];

const STATES: ReadonlySet<string> = new Set<JobState>([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
  "OUT_OF_MEMORY",
  "NODE_FAIL",
  "PREEMPTED",
  "BOOT_FAIL",
  "DEADLINE",
  "UNKNOWN",
]);

function isJobState(word: string): word is JobState {
  return STATES.has(word);
}

/** Slurm states we do not act on, mapped to the nearest one we do. */
const STATE_ALIASES: Readonly<Record<string, JobState>> = {
  REQUEUE_FED: "REQUEUED",
  REQUEUE_HOLD: "REQUEUED",
  RESV_DEL_HOLD: "PENDING",
  RESIZING: "RUNNING",
  SIGNALING: "COMPLETING",
  STAGE_OUT: "COMPLETING",
  STOPPED: "SUSPENDED",
  SPECIAL_EXIT: "FAILED",
  REVOKED: "CANCELLED",
};

/**
 * A job state as squeue or sacct prints it: the first word (`CANCELLED by 1001` → CANCELLED),
 * Slurm's rarer states mapped to the nearest one we know, anything new → UNKNOWN.
 */
export function parseJobState(text: string): JobState {
  const word = text.trim().split(/\s+/)[0]!.toUpperCase();
  return isJobState(word) ? word : (STATE_ALIASES[word] ?? "UNKNOWN");
}

/** `cpu=4,mem=4000M,node=1,billing=4,gres/gpu=2` → key/value map. */
export function parseTres(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of text.split(",")) {
    const eq = item.indexOf("=");
    if (eq > 0) out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** GPUs in a TRES list: `gres/gpu`, or the sum of the typed `gres/gpu:TYPE` counts when alone. */
export function gpusOfTres(tres: Map<string, string>): number {
  const plain = tres.get("gres/gpu");
  if (plain !== undefined) return Number(plain) || 0;
  let sum = 0;
  for (const [k, v] of tres) if (k.startsWith("gres/gpu:")) sum += Number(v) || 0;
  return sum;
}

/** Total memory of a TRES list (`mem=4000M`) in MB, undefined when absent. */
export function memoryOfTres(tres: Map<string, string>): number | undefined {
  const mem = tres.get("mem");
  if (mem === undefined) return undefined;
  try {
    return parseMemory(mem);
  } catch {
    throw new SlurmOutputError(`not a TRES memory size: mem=${mem}`);
  }
}

/** squeue's "no value" spellings for times and node lists. */
function present(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return v === "" || /^(n\/a|unknown|none|\(null\)|invalid)$/i.test(v) ? undefined : v;
}

function parseRow(line: string): JobStatus {
  const fields = line.split("|");
  // Every field ends with "|": the last element is the empty string after the final one.
  if (fields.length < FIELDS.length + 1) {
    throw new SlurmOutputError(
      `squeue row has ${fields.length - 1} fields, expected ${FIELDS.length}: ${JSON.stringify(line)}`,
    );
  }
  const [id, state, reason, partition, nodes, start, used, limit, cpus, tres] = fields;
  const name = fields.slice(FIELDS.length - 1, -1).join("|");
  if (!id || !/^[0-9]/.test(id))
    throw new SlurmOutputError(`squeue row without a job id: ${JSON.stringify(line)}`);
  const status: JobStatus = { jobId: id, state: parseJobState(state ?? "") };
  if (reason) status.reason = reason;
  if (partition) status.partition = partition;
  const node = present(nodes);
  if (node) status.node = node;
  const startTime = present(start);
  if (startTime) status.startTime = startTime;
  const elapsed = present(used);
  if (elapsed) status.elapsed = elapsed;
  if (present(limit)) status.timeLimit = limit!.trim();
  if (cpus && /^\d+$/.test(cpus)) status.cpus = Number(cpus);
  const tresMap = parseTres(tres ?? "");
  const mb = memoryOfTres(tresMap);
  if (mb !== undefined) status.memory = formatMemory(mb);
  const gpus = gpusOfTres(tresMap);
  if (gpus > 0) status.gpus = gpus;
  const billing = Number(tresMap.get("billing"));
  if (Number.isFinite(billing) && billing > 0) status.billing = billing;
  if (name) status.name = name;
  return status;
}

/**
 * Rows of `squeue --noheader -O` {@link SQUEUE_FORMAT}, one {@link JobStatus} per row. Ids stay
 * strings (`123_4`, `123_[5-9]`); `startTime` is set only when squeue knows it; `memory` is the
 * allocation's total (`16G`); `gpus` only when the job has any.
 * @throws SlurmOutputError when a row does not have the format's fields.
 */
export function parseSqueue(stdout: string): JobStatus[] {
  return stdout
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.trim() !== "")
    .map(parseRow);
}
