/** Builds messages the kernel sends, with a fresh header tied to the request they answer. */
import { randomUUID } from "node:crypto";
import {
  PROTOCOL_VERSION,
  type ErrorReplyMessage,
  type ReplyError,
  type ReplyType,
  type RequestType,
  type Channel,
  type ContentByType,
  type Message,
  type MessageHeader,
  type MsgType,
} from "./messages";

export function makeHeader<T extends MsgType>(
  msgType: T,
  session: string,
  username = "alpine-kernel",
): MessageHeader<T> {
  return {
    msg_id: randomUUID(),
    session,
    username,
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

export function makeMessage<T extends MsgType>(
  channel: Channel,
  msgType: T,
  content: ContentByType[T],
  parent: MessageHeader | Record<string, never>,
  session: string,
  metadata: Record<string, unknown> = {},
): Message<T> {
  return {
    channel,
    header: makeHeader(msgType, session),
    parent_header: parent,
    metadata,
    content,
    buffers: [],
  };
}

export function replyTypeOf<R extends RequestType>(requestType: R): ReplyType<R> {
  return requestType.replace(/_request$/, "_reply") as ReplyType<R>;
}

/** An error reply to a request of any type. */
export function makeErrorReply(
  req: { channel: Channel; header: MessageHeader<RequestType> },
  content: ReplyError,
  session: string,
): ErrorReplyMessage {
  const type = replyTypeOf(req.header.msg_type);
  return {
    channel: req.channel,
    header: makeHeader(type, session),
    parent_header: req.header,
    metadata: {},
    content,
    buffers: [],
  };
}
