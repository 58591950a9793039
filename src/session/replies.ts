/**
 * How a session answers its frontends: typed replies to one frontend, iopub messages to all, and
 * the busy/idle status around each request, as the messaging spec asks.
 */
import { errorMessage } from "../errors";
import { makeErrorReply, makeMessage } from "../protocol/make-message";
import type { ContentByType, MessageHeader, MsgType, RawMessage, RequestMessage } from "../protocol/messages";
import { isRequestType } from "../protocol/validate";
import type { Frontends } from "./frontends";

export class Replies {
  constructor(
    private readonly frontends: Frontends,
    private readonly sessionId: string,
  ) {}

  /** Every iopub message goes out here, typed. */
  readonly publish = <T extends MsgType>(
    type: T,
    content: ContentByType[T],
    parent: MessageHeader | Record<string, never>,
  ): void => {
    this.frontends.broadcast(makeMessage("iopub", type, content, parent, this.sessionId));
  };

  reply<T extends MsgType>(
    req: { channel: RequestMessage["channel"]; header: MessageHeader },
    clientId: string,
    type: T,
    content: ContentByType[T],
  ): void {
    this.frontends.send(clientId, makeMessage(req.channel, type, content, req.header, this.sessionId));
  }

  /** An input_request on a frontend's stdin channel; returns its msg_id (the reply names it). */
  ask(clientId: string, prompt: string, password: boolean, parent: MessageHeader): string {
    const msg = makeMessage("stdin", "input_request", { prompt, password }, parent, this.sessionId);
    this.frontends.send(clientId, msg);
    return msg.header.msg_id;
  }

  /** The error reply of a request (nothing for a message that expects no reply). */
  replyError(req: Pick<RawMessage, "channel" | "header">, clientId: string, err: unknown): void {
    const type = req.header.msg_type;
    if (!isRequestType(type)) return;
    const content = {
      status: "error" as const,
      ename: err instanceof Error ? err.name : "Error",
      evalue: errorMessage(err),
      traceback: [],
    };
    this.frontends.send(
      clientId,
      makeErrorReply(
        { channel: req.channel, header: { ...req.header, msg_type: type } },
        content,
        this.sessionId,
      ),
    );
  }

  /** busy, `fn`, idle — idle also when `fn` throws. */
  withStatus(parent: MessageHeader, fn: () => void): void {
    this.publish("status", { execution_state: "busy" }, parent);
    try {
      fn();
    } finally {
      this.publish("status", { execution_state: "idle" }, parent);
    }
  }

  /** The same around work that takes a while. */
  async whileBusy<T>(parent: MessageHeader, fn: () => Promise<T>): Promise<T> {
    this.publish("status", { execution_state: "busy" }, parent);
    try {
      return await fn();
    } finally {
      this.publish("status", { execution_state: "idle" }, parent);
    }
  }
}
