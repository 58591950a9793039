/**
 * An execute_request, from the queue to its reply: the size check, the execution count and the
 * history, the login prompts a cell may need, running the cell, and the reply (the cell's end is
 * recorded once that reply has left: `CellBook.answered`).
 */
import { AlpineKernelError, errorMessage, errorName } from "../errors";
import type { ContentByType, MessageHeader } from "../protocol/messages";
import type { CellHost } from "./cell-host";
import type { Cell } from "../cells/cell";
import { errorContent, errorReply, replyFor } from "./cell-output";
import { codeTooLarge } from "./code-limit";
import type { QueuedExecute } from "./execute-queue";
import type { Replies } from "./replies";
import { runCell } from "./run-cell";

/** What executing needs of its session besides what its cells need. */
export interface ExecutingSession extends CellHost {
  readonly replies: Replies;
  readonly executionCount: number;
  /** Counts the cell (unless silent) and keeps it in the history (if asked); returns its number. */
  countCell(code: string, silent: boolean, storeHistory: boolean): number;
  /** While the cell runs, a login the cluster needs (password, Duo) may be asked of this frontend. */
  answerLoginsIn(clientId: string, parent: MessageHeader): () => void;
}

export async function executeCell(s: ExecutingSession, item: QueuedExecute): Promise<{ failed: boolean }> {
  const req = item.request;
  const { code, silent, store_history } = req.content;
  return s.replies.whileBusy(req.header, async () => {
    const tooLarge = codeTooLarge(code, s.env.config.server.max_cell_code_mib);
    if (tooLarge) return refuse(s, item, tooLarge); // not counted, not kept in the history
    const count = s.countCell(code, silent, store_history);
    if (!silent) s.publish("execute_input", { code, execution_count: count }, req.header);
    let reply: ContentByType["execute_reply"];
    let cell;
    const stopAnswering = req.content.allow_stdin ? s.answerLoginsIn(item.clientId, req.header) : undefined;
    try {
      ({ reply, cell } = await runCell(s, {
        header: req.header,
        code,
        silent,
        storeHistory: store_history,
        allowStdin: req.content.allow_stdin,
        clientId: item.clientId,
        executionCount: count,
        cellId: typeof req.metadata.cellId === "string" ? req.metadata.cellId.slice(0, 200) : undefined,
      }));
    } catch (err) {
      const ename = err instanceof AlpineKernelError ? errorName(err.code) : "KernelError";
      const e = errorContent(ename, errorMessage(err));
      s.publish("error", e, req.header);
      reply = errorReply(count, { ...e, traceback: [] });
    } finally {
      stopAnswering?.();
    }
    s.replies.reply(req, item.clientId, "execute_reply", reply);
    const ran = cell;
    if (ran) s.afterDelivery(() => s.env.cells.answered(ran));
    return { failed: reply.status === "error" };
  });
}

/** A cell that waited in the queue when an earlier one failed, or the kernel stopped: aborted. */
export function abortCell(s: ExecutingSession, item: QueuedExecute): void {
  const content = { status: "aborted" as const, execution_count: s.executionCount };
  s.replies.withStatus(item.request.header, () =>
    s.replies.reply(item.request, item.clientId, "execute_reply", content),
  );
}

function refuse(s: ExecutingSession, item: QueuedExecute, err: AlpineKernelError): { failed: true } {
  const e = errorContent(errorName(err.code), err.message);
  s.publish("error", e, item.request.header);
  s.replies.reply(
    item.request,
    item.clientId,
    "execute_reply",
    errorReply(s.executionCount, { ...e, traceback: [] }),
  );
  return { failed: true };
}

/** A cell followed again after a server restart: the execute_reply it owes, sent when it ends. */
export function answerResumed(s: ExecutingSession, cell: Cell, executionCount: number): () => Promise<void> {
  return async () => {
    const end = await cell.finished;
    const { parent, clientId } = cell.info.origin;
    s.replies.reply(
      { channel: "shell", header: parent },
      clientId,
      "execute_reply",
      replyFor(end, executionCount),
    );
    s.afterDelivery(() => s.env.cells.answered(cell));
    s.publish("status", { execution_state: "idle" }, parent);
  };
}
