/**
 * Why a cell in an allocation ended without its end marker, told as a failure a person can act
 * on: its Python died (a crash, os._exit, the memory limit, or a restart after an interrupt that
 * did not stop it), or the allocation itself ended under it. Neutral, like `diagnoseDeath`.
 */
import type { JobFailure } from "../diagnose";
import type { Allocation } from "./allocation";

/** "14:02:07" in the server's local time. */
function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toTimeString().slice(0, 8);
}

/** What the next cell starts from, in a sentence. */
export function savedWords(a: Allocation): string {
  const s = a.lastSave;
  if (!s || s.saved === undefined)
    return "the namespace as it was last saved (by a per-cell job or when the allocation started)";
  return `the namespace saved at ${clock(s.time)} (${s.saved} name${s.saved === 1 ? "" : "s"})`;
}

function tailDetails(stderrTail: string): string[] {
  const tail = stderrTail.trimEnd().split("\n").slice(-15).join("\n");
  return tail ? ["", "Last lines of the cell's stderr:", tail] : [];
}

export interface DeathContext {
  started: boolean;
  stderrTail: string;
  /** What the next cell does once the allocation has ended. */
  afterEnd: "per-cell" | "reallocate";
}

export function describeCellDeath(a: Allocation, seq: number, c: DeathContext): JobFailure {
  const alloc = `allocation ${a.jobId}`;
  const details = tailDetails(c.stderrTail);
  const death = a.deathOf(seq);
  const restart = `What it held in memory is lost; the next cell starts a fresh Python in ${alloc} from ${savedWords(a)}.`;
  if (death) {
    if (death.cancelled)
      return {
        name: "KeyboardInterrupt",
        message: `the cell did not stop after the interrupt, so ${alloc}'s Python was restarted. ${restart}`,
        details,
      };
    if (death.oom)
      return {
        name: "SlurmOutOfMemory",
        message: `the cell ran out of memory: ${alloc}'s Python was killed at the allocation's memory limit${death.maxrss_kb ? ` (it used ${Math.round(death.maxrss_kb / 1024)} MB)` : ""}. ${restart} For more memory, %slurm allocate --mem ... (or run the cell as its own job with %%slurm --mem ...).`,
        details,
      };
    const how = death.signal
      ? `was killed by ${death.signal_name || `signal ${death.signal}`}`
      : `exited with code ${death.exit_code ?? "?"}`;
    return {
      name: "CellProcessDied",
      message: `${alloc}'s Python ${how} while this cell ran (a crash in compiled code, os._exit, or a kill). ${restart}`,
      details,
    };
  }
  if (a.cellState(seq) === "withdrawn")
    return {
      name: "KeyboardInterrupt",
      message: `the cell was stopped before it started in ${alloc}.`,
      details,
    };
  const p = a.phase;
  const why = p.name === "ended" ? p.end.why : "it ended";
  const next =
    c.afterEnd === "reallocate"
      ? "the next cell waits for a new allocation with the same options"
      : "the next cell runs as its own job";
  if (!c.started)
    return {
      name: "CellNotStarted",
      message: `${alloc} ended (${why}) before this cell started in it; run the cell again: ${next}.`,
      details,
    };
  const names: Record<string, string> = {
    TIMEOUT: "SlurmTimeout",
    CANCELLED: "SlurmCancelled",
    NODE_FAIL: "SlurmNodeFail",
    PREEMPTED: "SlurmPreempted",
    OUT_OF_MEMORY: "SlurmOutOfMemory",
  };
  const state = p.name === "ended" ? p.end.state : "UNKNOWN";
  return {
    name: names[state] ?? "CellProcessDied",
    message: `${alloc} ended while this cell ran (${why}). ${next[0]!.toUpperCase()}${next.slice(1)}, from ${savedWords(a)}.`,
    details,
  };
}
