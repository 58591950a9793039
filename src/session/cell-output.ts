/**
 * A cell's outputs as Jupyter messages: where they go (the notebook live, or collected under a
 * detached cell's status line), how each runner output and each way of ending becomes a message,
 * and the execute_reply a cell's end makes.
 */
import type { Cell } from "../cells/cell";
import type { CellEnd, CellOutput } from "../cells/cell-types";
import type { JobFailure } from "../jobs/diagnose";
import { partsErrorContent } from "../cells/parts-error";
import type {
  ClearOutput,
  ContentByType,
  DisplayData,
  ErrorContent,
  ExecuteReplyContent,
  ExecuteResult,
  JsonObject,
  MessageHeader,
  MsgType,
} from "../protocol/messages";

/** Where a cell's outputs go. */
export interface OutputSink {
  stream(name: "stdout" | "stderr", text: string): void;
  display(type: "display_data" | "update_display_data", content: DisplayData): void;
  result(content: ExecuteResult): void;
  error(content: ErrorContent): void;
  clear(content: ClearOutput): void;
  /** A pager's content (`obj?`): the reply's payload carries it to a live notebook. */
  page(data: Record<string, unknown>): void;
}

export type IopubPublisher = <T extends MsgType>(
  type: T,
  content: ContentByType[T],
  parent: MessageHeader,
) => void;

/** Outputs as iopub messages, children of the request that ran the cell. */
export function iopubSink(publish: IopubPublisher, parent: MessageHeader): OutputSink {
  return {
    stream: (name, text) => publish("stream", { name, text }, parent),
    display: (type, content) => publish(type, content, parent),
    result: (content) => publish("execute_result", content, parent),
    error: (content) => publish("error", content, parent),
    clear: (content) => publish("clear_output", content, parent),
    page: () => {}, // sent in the execute_reply's payload, as ipykernel does
  };
}

/** An error as IPython shows it: the name in red, then the sentence, then details. */
export function errorContent(ename: string, evalue: string, details: string[] = []): ErrorContent {
  return { ename, evalue, traceback: [`\u001b[0;31m${ename}\u001b[0m: ${evalue}`, ...details] };
}

export function failureContent(f: JobFailure): ErrorContent {
  return errorContent(f.name, f.message, f.details);
}

export function requeueingNotice(jobId: string, cause: string): string {
  return `alpine-kernel: Slurm stopped job ${jobId} and put it back in the queue (${cause}); it will run this cell again from the start, and that run's output follows below. The output above is from the stopped run.\n`;
}

export function requeuedNotice(jobId: string, host: string): string {
  return `alpine-kernel: job ${jobId} was requeued and started again on ${host}; the output above is from its earlier run.\n`;
}

/** One output of the cell's runner, as the frontend gets it. */
export function showOutput(sink: OutputSink, out: CellOutput, executionCount: number): void {
  switch (out.type) {
    case "stream":
      return sink.stream(out.name, out.text);
    case "display_data":
    case "update_display_data":
      return sink.display(out.type, { data: out.data, metadata: out.metadata, transient: out.transient });
    case "execute_result":
      return sink.result({ execution_count: executionCount, data: out.data, metadata: out.metadata });
    case "clear_output":
      return sink.clear({ wait: out.wait });
    case "error":
      return sink.error({ ename: out.ename, evalue: out.evalue, traceback: out.traceback });
  }
}

/** Sends the cell's outputs to `sink` as they come, and the error of its end when the end is a failure. */
export function bindOutputs(cell: Cell, sink: OutputSink): void {
  const off = cell.on((ev) => {
    if (ev.type === "output") showOutput(sink, ev.output, cell.info.executionCount);
    else if (ev.type === "requeued") sink.stream("stderr", requeuedNotice(cell.jobId ?? "", ev.host));
    else if (ev.type === "page") sink.page(ev.page.data);
    else if (ev.type === "requeueing") sink.stream("stderr", requeueingNotice(cell.jobId ?? "", ev.cause));
    else if (ev.type === "phase" && ev.phase.name === "ended") {
      off();
      // The cell's own exception was shown as it happened, a refused submission is the session's to
      // report; a job's death or a lost follower is news.
      const kind = ev.phase.end.outcome.kind;
      if (kind === "died" || kind === "lost" || kind === "parts") sink.error(endError(ev.phase.end)!);
    }
  });
}

/** The error a cell's end stands for (none when it completed). */
export function endError(end: CellEnd): ErrorContent | undefined {
  const o = end.outcome;
  switch (o.kind) {
    case "completed":
      return undefined;
    case "raised":
      return o.error;
    case "died":
      return failureContent(o.failure);
    case "lost":
      return errorContent("KernelError", o.message);
    case "refused":
      return errorContent("KernelError", String(o.error));
    case "parts":
      return partsErrorContent(o, errorContent);
  }
}

export function endErrorName(end: CellEnd): string {
  return endError(end)?.ename ?? "";
}

export function okReply(executionCount: number, payload: JsonObject[] = []): ExecuteReplyContent {
  return { status: "ok", execution_count: executionCount, user_expressions: {}, payload };
}

export function errorReply(executionCount: number, e: ErrorContent): ExecuteReplyContent {
  return {
    status: "error",
    execution_count: executionCount,
    ename: e.ename,
    evalue: e.evalue,
    traceback: e.traceback,
  };
}

/** The execute_reply for a cell that ended; what it asked to page is its payload. */
export function replyFor(end: CellEnd, executionCount: number): ExecuteReplyContent {
  const e = endError(end);
  if (e) return errorReply(executionCount, e);
  return okReply(
    executionCount,
    end.pages.map((p) => ({ source: "page", data: p.data, start: p.start })),
  );
}
