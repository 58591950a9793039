/**
 * Slurm job-array task lists, both ways. Pure.
 *
 * - `--array` as sbatch takes it: `0-99%10`, `1,3,5-7`, `0-20:5` → the task indices and throttle.
 * - squeue's array ids (`-O JobArrayID`): `4521_17` (a task with a row of its own) and
 *   `4521_[3-99%10]` (tasks still pending together). squeue cuts a long pending list to
 *   SLURM_BITSTR_LEN characters (64 by default): `4521_[2,9,22,26,102` with no closing bracket.
 *   The tasks after the cut are unknown, and a reader must not take them for gone.
 */
import { SlurmValueError } from "../slurm/slurm-time";

/** Most tasks one cell may have: a bound on what the server tracks (Slurm's MaxArraySize is lower by default). */
export const MAX_ARRAY_TASKS = 100_000;

export interface ArraySpec {
  /** As the user wrote it (what sbatch gets). */
  text: string;
  /** Task indices, ascending, no repeats. */
  tasks: number[];
  /** `%N`: at most N tasks run at once. */
  throttle?: number;
}

const bad = (value: string, why: string): SlurmValueError =>
  new SlurmValueError(
    `--array '${value}' is not a job array: ${why}; use e.g. 0-99 (tasks 0 to 99), 1,3,5-7, 0-20:5 (every 5th) and %N to run at most N at once (0-99%10)`,
  );

/** Task indices of a list such as `1,3,5-7` or `0-20:5` (no throttle); throws on a malformed item. */
function expandList(list: string, value: string): number[] {
  const out = new Set<number>();
  for (const item of list.split(",")) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(item);
    if (!m) throw bad(value, `'${item}' is neither N nor N-M nor N-M:STEP`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (to < from) throw bad(value, `${item} counts down`);
    if (step < 1) throw bad(value, `the step of ${item} must be at least 1`);
    if ((to - from) / step + out.size >= MAX_ARRAY_TASKS)
      throw bad(value, `more than ${MAX_ARRAY_TASKS} tasks`);
    for (let t = from; t <= to; t += step) out.add(t);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * `--array`'s value → its tasks and throttle.
 * @throws SlurmValueError naming what is wrong and showing the forms sbatch takes.
 */
export function parseArraySpec(value: string): ArraySpec {
  const v = value.trim();
  const m = /^([^%]+)(?:%(\d+))?$/.exec(v);
  if (!m) throw bad(value, "write the task list first, then an optional %N");
  const tasks = expandList(m[1]!, value);
  const spec: ArraySpec = { text: v, tasks };
  if (m[2] !== undefined) {
    const throttle = Number(m[2]);
    if (throttle < 1) throw bad(value, "%0 would never run a task");
    spec.throttle = throttle;
  }
  return spec;
}

/** Ascending task indices as Slurm's compact list: `0-3,7,9-12`. */
export function formatTaskList(tasks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < tasks.length;) {
    let j = i;
    while (j + 1 < tasks.length && tasks[j + 1] === tasks[j]! + 1) j++;
    parts.push(j === i ? String(tasks[i]) : `${tasks[i]}-${tasks[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** The same for people, cut after `max` items: `7, 13, 20-25 and 40 more`. */
export function describeTasks(tasks: readonly number[], max = 12): string {
  const items = formatTaskList(tasks).split(",").filter(Boolean);
  if (items.length <= max) return items.join(", ");
  const shown = items.slice(0, max);
  const shownCount = shown.reduce((n, it) => {
    const [a, b] = it.split("-").map(Number);
    return n + (b === undefined ? 1 : b - a! + 1);
  }, 0);
  return `${shown.join(", ")} and ${tasks.length - shownCount} more`;
}

/** One squeue row's array id, read. */
export interface ArrayRowId {
  arrayId: string;
  /** The tasks the row stands for; undefined when the row names the array alone (`4521`). */
  tasks?: number[];
  /** The pending list was cut (`...`): tasks above `cutAfter` may be in it too. */
  cutAfter?: number;
}

/** `4521_17`, `4521_[3-99%10]`, `4521_[1,3,5-7]`, `4521_[0-40,42,...]`, `4521` → what the row covers. */
export function parseArrayRowId(id: string): ArrayRowId | undefined {
  const m = /^(\d+)(?:_(\d+|\[([^\]]*)\]?))?$/.exec(id.trim());
  if (!m) return undefined;
  const arrayId = m[1]!;
  if (m[2] === undefined) return { arrayId };
  if (m[3] === undefined) return { arrayId, tasks: [Number(m[2])] };
  let list = m[3].replace(/\.\.\.$/, "");
  // squeue 22.05 cuts a long list without its closing bracket (`4521_[2,9,22,102`): the last item
  // may be cut short (102 of 1024), so it is dropped; `…,42,...` would end on a whole item.
  const cut = !m[2].endsWith("]") || m[3].endsWith("...");
  if (cut) list = list.endsWith(",") ? list.slice(0, -1) : list.replace(/,?[^,]*$/, "");
  list = list.replace(/%\d*$/, "");
  const tasks = list ? expandList(list, id) : [];
  const row: ArrayRowId = { arrayId, tasks };
  if (cut) row.cutAfter = tasks.length ? tasks[tasks.length - 1]! : -1;
  return row;
}
