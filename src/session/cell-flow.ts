/**
 * One execute_request from code to reply: parse the magics (nothing is submitted if they are
 * wrong), run the kernel's line magics, work out the cell's Slurm options and check them against
 * the cluster, build and submit the job, then follow it — or, for a detached cell, reply at once.
 */
import { errorMessage } from "../errors";
import { parseCell } from "../magics/parse-cell";
import { MagicError } from "../magics/types";
import type { ErrorContent, ExecuteReplyContent, MessageHeader } from "../protocol/messages";
import { CellJob } from "../jobs/job-follower";
import { SubmitError } from "../jobs/slurm/slurm-scheduler";
import { CellExecution, type CellContext } from "./cell-execution";
import type { CellOptions } from "./cell-options";
import { collectingContext, followDetached, OutputCollector, replayJobOutput } from "./detached-cells";
import { formatDuration } from "../jobs/slurm/slurm-time";
import { buildCellJob, type SessionEnvironment } from "./job-builder";
import { LiveStatus } from "./live-status";
import { runLineMagic, type MagicContext } from "./magic-commands";

/** What a cell flow needs from its session. */
export interface CellHost {
  readonly id: string;
  readonly env: SessionEnvironment;
  readonly options: CellOptions;
  readonly state: { id: string; dir: string; workDir: string; notebook: string; cellSeq: number };
  readonly notebookKey: string;
  cellContext(): CellContext;
  publishDisplay(
    type: "display_data" | "update_display_data",
    data: Record<string, string>,
    displayId: string | undefined,
    parent: MessageHeader,
  ): void;
  publishStream(name: "stdout" | "stderr", text: string, parent: MessageHeader): void;
  publishError(error: ErrorContent, parent: MessageHeader): void;
  setCurrent(cell: CellExecution | undefined): void;
  persist(): void;
}

export interface CellRequest {
  header: MessageHeader;
  code: string;
  silent: boolean;
  storeHistory: boolean;
  allowStdin: boolean;
  clientId: string;
  executionCount: number;
}

const ok = (count: number): ExecuteReplyContent => ({
  status: "ok",
  execution_count: count,
  user_expressions: {},
  payload: [],
});

function errorReply(host: CellHost, req: CellRequest, ename: string, evalue: string): ExecuteReplyContent {
  const error: ErrorContent = { ename, evalue, traceback: [`\u001b[0;31m${ename}\u001b[0m: ${evalue}`] };
  host.publishError(error, req.header);
  return { status: "error", execution_count: req.executionCount, ...error };
}

function magicContext(host: CellHost, req: CellRequest): MagicContext {
  return {
    display: (data) => host.publishDisplay("display_data", data, undefined, req.header),
    stream: (text) => host.publishStream("stdout", text, req.header),
    options: host.options,
    jobs: host.env.jobs,
    notebookKey: host.notebookKey,
    scheduler: host.env.scheduler,
    transport: host.env.transport,
    liveStatus: (id) => host.env.liveStatus(id),
    replayOutput: (job) => replayJobOutput(host.env.transport, job, host.cellContext(), req.header),
    saveDefaults: () => host.persist(),
    backend: host.env.scheduler.kind,
  };
}

export async function runCell(host: CellHost, req: CellRequest): Promise<ExecuteReplyContent> {
  const count = req.executionCount;
  let plan;
  try {
    plan = parseCell(req.code);
    for (const m of plan.lineMagics) await runLineMagic(m, magicContext(host, req));
  } catch (err) {
    if (err instanceof MagicError)
      return errorReply(host, req, "MagicError", `${err.message} (nothing was submitted)`);
    throw err;
  }
  if (!plan.body.trim()) {
    // A %%slurm cell with no code, or only magics: nothing to run.
    return ok(count);
  }
  const env = host.env;
  let effective;
  try {
    effective = await host.options.effective(plan.cellOptions);
  } catch (err) {
    if (err instanceof MagicError)
      return errorReply(host, req, "MagicError", `${err.message} (nothing was submitted)`);
    throw err;
  }
  const seq = ++host.state.cellSeq;
  host.persist();
  const detached = effective.detach;
  const built = await buildCellJob(env, host.state, {
    seq,
    executionCount: count,
    code: plan.body,
    silent: req.silent,
    storeHistory: req.storeHistory,
    allowStdin: req.allowStdin,
    sbatch: effective.sbatch,
    detached,
  });
  const collector = detached ? new OutputCollector() : undefined;
  const ctx = collector ? collectingContext(host.cellContext(), collector) : host.cellContext();
  const cell = new CellExecution(
    ctx,
    seq,
    count,
    req.header,
    req.clientId,
    req.allowStdin && !detached,
    built.requested,
  );
  const showStatus = env.scheduler.kind === "slurm" || detached;
  if (showStatus) {
    cell.status = new LiveStatus((type, data, id) => host.publishDisplay(type, data, id, req.header), {
      partition: effective.partition,
      detached,
    });
    env.statusBoard.add(cell.status);
  }
  if (!detached) host.setCurrent(cell);
  let job: CellJob;
  try {
    job = await CellJob.submit(
      env.transport,
      env.scheduler,
      built.paths,
      built.code,
      built.script,
      built.spec,
      cell,
      env.watchDir,
    );
  } catch (err) {
    cleanup();
    if (err instanceof SubmitError) {
      env.discovery?.invalidate();
      return errorReply(
        host,
        req,
        "SubmitError",
        `${err.message}\n(nothing is queued; fix the options and run the cell again)`,
      );
    }
    throw err;
  }
  function cleanup() {
    if (cell.status) {
      cell.status.stop();
      env.statusBoard.delete(cell.status);
    }
    if (!detached) host.setCurrent(undefined);
  }
  env.jobs.add({
    id: job.jobId,
    notebookKey: host.notebookKey,
    sessionId: host.id,
    seq,
    executionCount: count,
    detached,
    sessionDir: built.dir,
    partition: effective.partition,
    timeLimit: built.requested.time,
    parent: req.header,
    displayId: cell.status?.displayId,
  });
  cell.status?.submitted(job.jobId);
  if (detached) {
    void followDetached(env, cell, job, collector!).finally(cleanup);
    return ok(count);
  }
  try {
    return await cell.follow(job);
  } catch (err) {
    return errorReply(host, req, "KernelError", `following job ${job.jobId} failed: ${errorMessage(err)}`);
  } finally {
    cleanup();
    env.ledger.remove("cell", `${host.id}/${seq}`);
    recordEnd(env, job.jobId, cell);
  }
}

/** Notes in the job book how a cell's job ended. */
export function recordEnd(env: SessionEnvironment, jobId: string, cell: CellExecution): void {
  const seconds = cell.status?.elapsedSeconds;
  env.jobs.update(jobId, {
    ended: new Date().toISOString(),
    state: cell.endState,
    maxRss: cell.maxRss,
    node: cell.host,
    ...(seconds ? { elapsed: formatDuration(Math.round(seconds)) } : {}),
  });
}
