/**
 * Detached cells (`%%slurm --detach`): the notebook gets its reply at once; the job's output is
 * collected and shown under the cell's status line when the job ends. `%slurm output JOBID`
 * replays a finished job's output from its files, also from a notebook reopened later.
 */
import type { Transport } from "../cluster/transport";
import { errorMessage } from "../errors";
import type { ErrorContent, MessageHeader } from "../protocol/messages";
import { parseRunnerEvents } from "../jobs/runner-events";
import { CellJob, cellPaths } from "../jobs/job-follower";
import { LiveStatus } from "./live-status";
import { formatDuration } from "../jobs/slurm/slurm-time";
import { CellExecution, type CellContext } from "./cell-execution";
import type { JobRecord } from "./job-book";
import type { SessionEnvironment } from "./job-builder";

const MAX_COLLECTED_CHARS = 1_000_000;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes of tracebacks
const ANSI = /\u001b\[[0-9;]*m/g;

/** Outputs of a detached cell, kept to show under its status line. */
export class OutputCollector {
  private html: string[] = [];
  private text: string[] = [];
  private size = 0;
  private truncated = false;

  private add(html: string, text: string): void {
    if (this.size > MAX_COLLECTED_CHARS) {
      this.truncated = true;
      return;
    }
    this.size += html.length + text.length;
    this.html.push(html);
    this.text.push(text);
  }

  stream(name: string, text: string): void {
    const color = name === "stderr" ? "background:#fdd;" : "";
    this.add(`<pre style="margin:0;${color}">${escapeHtml(text)}</pre>`, text);
  }

  bundle(data: Record<string, unknown>): void {
    const png = data["image/png"];
    if (typeof png === "string") return this.add(`<img src="data:image/png;base64,${png}"/>`, "[image]");
    const html = data["text/html"];
    const plain = typeof data["text/plain"] === "string" ? data["text/plain"] : "";
    this.add(typeof html === "string" ? html : `<pre style="margin:0">${escapeHtml(plain)}</pre>`, plain);
  }

  error(e: ErrorContent): void {
    const tb = e.traceback.join("\n").replace(ANSI, "");
    this.add(
      `<pre style="margin:0;background:#fdd">${escapeHtml(tb || `${e.ename}: ${e.evalue}`)}</pre>`,
      tb || `${e.ename}: ${e.evalue}`,
    );
  }

  rendered(jobId: string): { html: string; text: string } {
    const note = this.truncated ? [`(output truncated: %slurm output ${jobId} shows all of it)`] : [];
    return {
      html: [...this.html, ...note.map((n) => `<div>${escapeHtml(n)}</div>`)].join(""),
      text: [...this.text, ...note].join(""),
    };
  }
}

/** A CellContext that collects outputs instead of streaming them (the request was answered already). */
export function collectingContext(base: CellContext, out: OutputCollector): CellContext {
  return {
    ...base,
    publish: (_type, content) => out.stream(content.name, content.text),
    publishRaw: (type, content) => {
      if (type === "error") out.error(content as unknown as ErrorContent);
      else if (type === "display_data" || type === "execute_result" || type === "update_display_data") {
        const data = content.data;
        if (data && typeof data === "object") out.bundle(data as Record<string, unknown>);
      }
    },
    requestInput: () => "",
    onNamespace: () => {},
    saveProgress: () => {},
  };
}

/** Follows a detached cell's job to its end and shows its output under the status line. */
export async function followDetached(
  env: SessionEnvironment,
  cell: CellExecution,
  job: CellJob,
  out: OutputCollector,
): Promise<void> {
  try {
    const reply = await cell.follow(job);
    const ok = reply.status === "ok";
    cell.status?.finish(
      {
        kind: "detached-done",
        ok,
        seconds: cell.status.elapsedSeconds,
        detail: ok ? undefined : `ended with ${reply.status === "error" ? reply.ename : reply.status}`,
      },
      out.rendered(job.jobId),
    );
    const seconds = cell.status?.elapsedSeconds;
    env.jobs.update(job.jobId, {
      ended: new Date().toISOString(),
      state: cell.endState,
      maxRss: cell.maxRss,
      node: cell.host,
      ...(seconds ? { elapsed: formatDuration(Math.round(seconds)) } : {}),
    });
  } catch (err) {
    env.log.warn(`following detached job ${job.jobId} failed: ${errorMessage(err)}`);
  }
}

/** `%slurm output JOBID`: the job's whole output, from its files, as this cell's output. */
export async function replayJobOutput(
  transport: Transport,
  job: JobRecord,
  ctx: CellContext,
  parent: MessageHeader,
): Promise<void> {
  const paths = cellPaths(job.sessionDir, job.seq);
  const replay = new CellExecution(
    { ...ctx, requestInput: () => "", onNamespace: () => {}, saveProgress: () => {} },
    job.seq,
    job.executionCount,
    parent,
    "",
    false,
    {},
  );
  const [events, stdout, stderr] = await Promise.all(
    [paths.events, paths.stdout, paths.stderr].map((p) => transport.readFrom(p, 0, 64 << 20)),
  );
  if (!events && !stdout && !stderr) {
    ctx.publish(
      "stream",
      {
        name: "stderr",
        text: `job ${job.id} left no output files in ${job.sessionDir} (were they purged?)\n`,
      },
      parent,
    );
    return;
  }
  for (const ev of parseRunnerEvents((events ?? Buffer.alloc(0)).toString("utf8")).events) {
    if (ev.type !== "input_request") replay.onEvent(ev);
  }
  if (stdout?.length) replay.onOutput("stdout", stdout.toString("utf8"));
  if (stderr?.length) replay.onOutput("stderr", stderr.toString("utf8"));
  if (!job.ended)
    ctx.publish(
      "stream",
      {
        name: "stderr",
        text: `(job ${job.id} is still ${job.state.toLowerCase()}: this is its output so far)\n`,
      },
      parent,
    );
}

/**
 * After a server restart: follow again the detached jobs still in flight, updating their status
 * line in whichever session of their notebook is open (output is re-read from the start).
 */
export function resumeDetached(
  env: SessionEnvironment,
  rec: JobRecord,
  ctx: CellContext,
  publish: (
    type: "display_data" | "update_display_data",
    data: Record<string, string>,
    displayId: string,
  ) => void,
): void {
  const out = new OutputCollector();
  const cell = new CellExecution(
    collectingContext(ctx, out),
    rec.seq,
    rec.executionCount,
    rec.parent ?? ({} as MessageHeader),
    "",
    false,
    {
      time: rec.timeLimit,
      partition: rec.partition,
    },
  );
  cell.status = new LiveStatus(publish, {
    jobId: rec.id,
    partition: rec.partition,
    detached: true,
    displayId: rec.displayId,
  });
  cell.status.submitted(rec.id);
  env.statusBoard.add(cell.status);
  const job = CellJob.resume(
    env.transport,
    env.scheduler,
    rec.id,
    cellPaths(rec.sessionDir, rec.seq),
    { events: 0, stdout: 0, stderr: 0 },
    cell,
    env.watchDir,
  );
  void followDetached(env, cell, job, out).finally(() => {
    cell.status?.stop();
    if (cell.status) env.statusBoard.delete(cell.status);
  });
}
