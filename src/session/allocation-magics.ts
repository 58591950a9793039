/**
 * `%slurm allocate [sbatch options] [--no-wait]`, `%slurm release [--no-save]` and
 * `%slurm extend DURATION`: the kernel's magics for a held allocation (session-allocation.ts).
 */
import { formatDuration, parseSlurmDuration, parseTimeOption } from "../jobs/slurm/slurm-time";
import { SubmitError } from "../jobs/slurm/slurm-scheduler";
import { parseSlurmOptions } from "../magics/sbatch-args";
import { MagicError } from "../magics/types";
import type { MessageHeader } from "../protocol/messages";
import type { OutputSink } from "./cell-output";
import type { CellHost } from "./cell-host";
import type { SessionAllocation } from "./session-allocation";
import { resourcesOf } from "./allocation-line";
import { shortDuration } from "./status-display";

export const ALLOCATION_COMMANDS = ["allocate", "release", "extend"] as const;

function hm(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 5);
}

function allocationOf(host: CellHost): SessionAllocation {
  if (!host.allocation)
    throw new MagicError(
      "%slurm allocate needs the slurm backend: with backend: local, cells already run on this machine",
    );
  return host.allocation;
}

export async function allocationMagic(
  args: string[],
  host: CellHost,
  out: OutputSink,
  parent: MessageHeader,
): Promise<void> {
  const [command, ...rest] = args;
  const alloc = allocationOf(host);
  if (command === "release") {
    if (rest.length > 1 || (rest.length === 1 && rest[0] !== "--no-save"))
      throw new MagicError("usage: %slurm release [--no-save]");
    return alloc.release(out, rest[0] !== "--no-save");
  }
  if (command === "extend") return extend(rest, host, alloc, out);
  const wait = !rest.includes("--no-wait");
  const parsed = parseSlurmOptions(
    rest.filter((a) => a !== "--no-wait"),
    "%slurm allocate",
  );
  if (parsed.detach)
    throw new MagicError("--detach applies to a cell (%%slurm --detach), not to an allocation");
  const options = await host.options.effective(parsed);
  let a;
  try {
    a = await alloc.allocate(
      { sbatch: options.sbatch, ...(parsed.profile ? { profile: parsed.profile } : {}), wait },
      out,
      parent,
    );
  } catch (err) {
    if (!(err instanceof SubmitError)) throw err;
    host.env.discovery?.invalidate();
    throw new MagicError(err.message.replace("the cell's job", "the allocation"));
  }
  if (!wait) {
    out.stream(
      "stdout",
      `allocation ${a.jobId} submitted; the next cells wait for it to start (its line above says where it stands)\n`,
    );
    return;
  }
  const w = a.worker;
  const restored = w?.restored
    ? `; ${w.restored} name${w.restored === 1 ? "" : "s"} restored from the saved namespace`
    : "";
  const problems =
    w && Object.keys(w.problems).length ? ` (not restored: ${Object.keys(w.problems).join(", ")})` : "";
  out.stream(
    "stdout",
    `allocation ${a.jobId} ready on ${a.node ?? "its node"}${resourcesOf(a)}${a.endsAt ? ` until ${hm(a.endsAt)}` : ""}: the next cells run in it${restored}${problems}. %slurm release ends it.\n`,
  );
}

async function extend(
  rest: string[],
  host: CellHost,
  alloc: SessionAllocation,
  out: OutputSink,
): Promise<void> {
  const usage = "usage: %slurm extend DURATION (e.g. %slurm extend 1:00:00)";
  let seconds: number | null = null;
  try {
    seconds = rest.length === 1 ? parseTimeOption(rest[0]!.replace(/^\+/, ""), "%slurm extend") : null;
  } catch (err) {
    throw new MagicError(`${(err as Error).message}; ${usage}`);
  }
  if (seconds === null) throw new MagicError(usage);
  const a = alloc.live;
  if (!a || a.phase.name === "queued")
    throw new MagicError("this notebook holds no running allocation to extend (%slurm allocate holds one)");
  // Slurm's refusal (only administrators may raise a limit) is an ExtendRefused error with its words.
  await host.env.allocations!.extend(a, seconds);
  out.stream(
    "stdout",
    `asked Slurm for ${formatDuration(seconds)} more on allocation ${a.jobId}; its line above shows the new end\n`,
  );
}

/** `%squeue`'s rows for the notebook's allocations of the last day: state, remaining time, node. */
export function allocationRows(host: CellHost): string[][] {
  const allocations = host.env.allocations;
  if (!allocations) return [];
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  return allocations
    .records(host.notebookKey)
    .filter((r) => !r.ended || Date.parse(r.ended) > dayAgo)
    .map((r) => {
      const a = r.ended ? undefined : allocations.byJobId(r.jobId);
      const s = a?.status;
      const state = r.ended ? (r.endState ?? "ENDED") : r.phase === "queued" ? "PENDING" : "RUNNING";
      const left = a?.endsAt ? ` (${shortDuration((a.endsAt - Date.now()) / 1000)} left)` : "";
      const elapsed = s?.elapsed ? clockOf(s.elapsed) : "0:00";
      const limit = s?.timeLimit ?? r.timeLimit;
      return [
        r.ended ? `allocation (${r.endWhy ?? "ended"})` : "allocation",
        r.jobId,
        state,
        state === "PENDING" ? (s?.reason ?? "—") : "—",
        s?.partition ?? r.partition ?? "—",
        `${elapsed}/${limit ? clockOf(limit) : "—"}${left}`,
        a?.node ?? r.node ?? "—",
        state === "PENDING" && s?.startTime ? s.startTime.replace("T", " ") : "—",
      ];
    });
}

function clockOf(v: string): string {
  const s = parseSlurmDuration(v);
  return s === null ? v : shortDuration(s);
}
