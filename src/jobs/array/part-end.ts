/**
 * How one part of a job (an array task, an srun task) ended, read once from its files after it
 * left the queue: its end marker (and the exception it raised) when the runner got to write it;
 * otherwise the scheduler's end state and the last lines of its stderr, for diagnoseDeath.
 */
import type { Transport } from "../../cluster/transport";
import type { PartEnd, SingleOutcome } from "../backend";
import { formatRss } from "../job-follower";
import { parseRunnerEvents, type RunnerError } from "../runner-events";
import type { FinalJobStatus } from "../scheduler";
import type { CellPaths } from "../session-files";

const EVENTS_TAIL_BYTES = 256 * 1024;
const STDERR_TAIL_BYTES = 4000;

/** The last `bytes` of a file ("" when it is missing). */
async function tailOf(transport: Transport, path: string, bytes: number): Promise<string> {
  const st = await transport.stat(path);
  if (!st || st.size === 0) return "";
  const from = Math.max(0, st.size - bytes);
  const buf = await transport.readFrom(path, from, st.size - from);
  const text = buf ? buf.toString("utf8") : "";
  // Cut mid-file: drop the partial first line.
  return from === 0 ? text : text.slice(text.indexOf("\n") + 1);
}

/** What the end of an events file says: the end marker and the last exception, if any. */
export async function readEndMarker(
  transport: Transport,
  events: string,
): Promise<{ started: boolean; end?: { status: "ok" | "error"; maxRss?: string }; error?: RunnerError }> {
  const text = await tailOf(transport, events, EVENTS_TAIL_BYTES);
  if (!text) return { started: false };
  let end: { status: "ok" | "error"; maxRss?: string } | undefined;
  let error: RunnerError | undefined;
  for (const ev of parseRunnerEvents(text).events) {
    if (ev.type === "end") end = { status: ev.status, maxRss: formatRss(ev.maxrss_kb) };
    else if (ev.type === "error") error = { ename: ev.ename, evalue: ev.evalue, traceback: ev.traceback };
  }
  return { started: true, end, error };
}

/**
 * A part that has left the queue: ended by its end marker, or died (its final state from
 * `final`, which asks accounting only for parts that need it).
 */
export async function readPartEnd(
  transport: Transport,
  paths: CellPaths,
  index: number,
  jobId: string,
  final: (jobId: string) => Promise<FinalJobStatus>,
): Promise<PartEnd> {
  const read = await readEndMarker(transport, paths.events);
  if (read.end) {
    const outcome: SingleOutcome = { kind: "ended", ...read.end };
    return read.end.status === "error" && read.error
      ? { index, jobId, outcome, error: read.error }
      : { index, jobId, outcome };
  }
  const [f, stderrTail] = await Promise.all([
    final(jobId),
    tailOf(transport, paths.stderr, STDERR_TAIL_BYTES),
  ]);
  return { index, jobId, outcome: { kind: "died", final: f, started: read.started, stderrTail } };
}

/** Whether a part's end counts as a failure. */
export function partFailed(p: PartEnd): boolean {
  return p.outcome.kind === "died" || p.outcome.status === "error";
}

/**
 * A %%bash script whose own EXIT trap replaced the kernel's ends without an end marker: for it,
 * leaving the queue COMPLETED is success.
 */
export function settleScriptOutcome(o: SingleOutcome): SingleOutcome {
  return o.kind === "died" && o.final.state === "COMPLETED"
    ? { kind: "ended", status: "ok", maxRss: o.final.maxRss }
    : o;
}
