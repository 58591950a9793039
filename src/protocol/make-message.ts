/** Builds messages the kernel sends, with a fresh header tied to the request they answer. */
import { randomUUID } from "node:crypto";
import {
  PROTOCOL_VERSION,
  type Channel,
  type ContentByType,
  type Message,
  type MessageHeader,
  type MsgType,
  type RawMessage,
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

/** For message types outside the typed table (error replies to any request, runner passthrough). */
export function makeRawMessage(
  channel: Channel,
  msgType: string,
  content: Record<string, unknown>,
  parent: MessageHeader | Record<string, never>,
  session: string,
): RawMessage {
  const header: MessageHeader = { ...makeHeader("status", session), msg_type: msgType };
  return { channel, header, parent_header: parent, metadata: {}, content, buffers: [] };
}
