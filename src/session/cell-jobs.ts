/**
 * What can be done to a cell job from anywhere — `%scancel`/`%slurm output` in its notebook, the
 * jobs panel through a kernel's comm, the queue page through the REST API: cancel it, replay its
 * recorded output, read the tail of that output as text.
 */
import { jobOf, type CellRecord } from "../cells/cell-book";
import { parseRunnerEvents } from "../jobs/runner-events";
import type { RecordedOutput, SessionFiles } from "../jobs/session-files";
import { requeuedNotice, showOutput, type OutputSink } from "./cell-output";
import type { SessionEnvironment } from "./environment";

/** Cancels a cell's job: through its live Cell when this server follows it (its end is then recorded), else by job id. */
export async function cancelCellJob(env: SessionEnvironment, rec: CellRecord): Promise<void> {
  const cell = env.cells.liveCell(rec.id);
  await (cell ? cell.cancel() : env.scheduler.cancel(rec.jobId));
}

/** `%slurm output JOBID`: the job's whole output, from its files, as this cell's output. */
export async function replayOutput(files: SessionFiles, rec: CellRecord, out: OutputSink): Promise<void> {
  replayRecorded(await files.recorded(jobOf(rec)), rec, `job ${rec.jobId}`, out);
}

/** What a job (or one array task, one srun rank: `what`) left in its files, as this cell's output. */
export function replayRecorded(
  recorded: RecordedOutput,
  rec: CellRecord,
  what: string,
  out: OutputSink,
): void {
  const { events, stdout, stderr, cut } = recorded;
  if (!events && !stdout && !stderr) {
    out.stream("stderr", `${what} left no output files in ${rec.sessionDir} (not started yet, or purged)\n`);
    return;
  }
  let starts = 0;
  for (const ev of parseRunnerEvents((events ?? Buffer.alloc(0)).toString("utf8")).events) {
    if (ev.type === "start") {
      if (starts++ > 0) out.stream("stderr", requeuedNotice(rec.jobId, ev.host));
    } else if (ev.type === "page") {
      out.page(ev.data);
    } else if (ev.type !== "input_request" && ev.type !== "namespace" && ev.type !== "end") {
      showOutput(out, ev, rec.executionCount);
    }
  }
  if (stdout?.length) out.stream("stdout", stdout.toString("utf8"));
  if (stderr?.length) out.stream("stderr", stderr.toString("utf8"));
  if (cut.length)
    out.stream(
      "stderr",
      `alpine-kernel: ${what} wrote more than a notebook can hold: this is the first 64 MiB of each of its files; all of it is in ${cut.join(", ")} (alpine_kernel_output.py, beside the runner under your work_dir's runner/ directory, prints an events file as text).\n`,
    );
  if (!rec.ended) {
    out.stream(
      "stderr",
      `(job ${rec.jobId} is still ${rec.state.toLowerCase()}: this is its output so far)\n`,
    );
  }
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes of tracebacks
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

const plain = (data: Record<string, unknown>): string => {
  const t = data["text/plain"];
  return typeof t === "string" ? t : Object.keys(data).length ? `<${Object.keys(data)[0]} output>` : "";
};

/** The last `maxLines` lines of a cell's output as plain text (streams, results, displays, the error). */
export async function outputTail(
  files: SessionFiles,
  rec: CellRecord,
  maxLines: number,
): Promise<{ text: string; lines: number }> {
  let text = "";
  const add = (t: string) => (text += t.endsWith("\n") ? t : `${t}\n`);
  await replayOutput(files, rec, {
    stream: (_name, t) => (text += t),
    display: (_type, c) => add(plain(c.data)),
    result: (c) => add(plain(c.data)),
    error: (c) => add(c.traceback.length ? c.traceback.join("\n") : `${c.ename}: ${c.evalue}`),
    clear: () => (text = ""),
    page: (data) => add(plain(data)),
  });
  const all = text
    .replace(ANSI, "")
    .replace(/\r(?!\n)/g, "\n")
    .split("\n");
  if (all[all.length - 1] === "") all.pop();
  return { text: all.slice(-maxLines).join("\n"), lines: all.length };
}
