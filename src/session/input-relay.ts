/**
 * input() in a running cell: each of the runner's input requests becomes an input_request on the
 * stdin channel of the frontend that ran the cell, and its input_reply goes back to the cell.
 */
import type { Cell } from "../cells/cell";
import { errorMessage } from "../errors";
import type { InputAnswer } from "../jobs/backend";
import type { MessageHeader, RawMessage } from "../protocol/messages";
import { inputReplyValue } from "../protocol/validate";

/** Sends an input_request to the cell's frontend; returns its msg_id. */
export type InputAsker = (prompt: string, password: boolean) => string;

export class InputRelay {
  /** input_request msg_id → the runner's request number. */
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly cell: Cell,
    ask: InputAsker,
  ) {
    const off = cell.on((ev) => {
      if (ev.type === "input") this.pending.set(ask(ev.prompt, ev.password), ev.seq);
      else if (ev.type === "phase" && ev.phase.name === "ended") off();
    });
  }

  /** An input_reply from a frontend; true when it answered one of this cell's input requests. */
  take(msg: RawMessage): boolean {
    const parentId = (msg.parent_header as Partial<MessageHeader>).msg_id ?? "";
    // A reply whose parent is unknown answers the one question asked, if only one is.
    const seq =
      this.pending.get(parentId) ?? (this.pending.size === 1 ? [...this.pending.values()][0] : undefined);
    if (seq === undefined || !this.cell.jobId) return false;
    for (const [id, s] of this.pending) if (s === seq) this.pending.delete(id);
    let answer: InputAnswer;
    try {
      answer = { value: inputReplyValue(msg) };
    } catch (err) {
      answer = { error: errorMessage(err) };
    }
    this.cell.answerInput(seq, answer);
    return true;
  }
}
