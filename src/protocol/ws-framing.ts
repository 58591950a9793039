/**
 * WebSocket framing of kernel messages, as Jupyter Server speaks it:
 * - `v1.kernel.websocket.jupyter.org`: binary frames [n, offsets..., channel, header, parent, metadata, content, buffers...]
 *   (https://jupyter-server.readthedocs.io/en/latest/developers/websocket-protocols.html)
 * - legacy (no subprotocol): one JSON text frame {header, parent_header, metadata, content, channel, buffers}.
 */
import type { OutgoingMessage, RawMessage } from "./messages";
import { ProtocolError, isObject, toRawMessage } from "./validate";

export const V1_PROTOCOL = "v1.kernel.websocket.jupyter.org";
export type WsFraming = "v1" | "legacy";

export function encodeWsMessage(framing: WsFraming, msg: OutgoingMessage): Buffer | string {
  if (framing === "legacy") {
    return JSON.stringify({
      header: msg.header,
      msg_id: msg.header.msg_id,
      msg_type: msg.header.msg_type,
      parent_header: msg.parent_header,
      metadata: msg.metadata,
      content: msg.content,
      channel: msg.channel,
      buffers: [],
    });
  }
  const chunks = [
    Buffer.from(msg.channel),
    ...[msg.header, msg.parent_header, msg.metadata, msg.content].map((o) => Buffer.from(JSON.stringify(o))),
    ...msg.buffers.map((b) => Buffer.from(b)),
  ];
  const count = chunks.length + 1;
  const head = Buffer.alloc(8 * (count + 1));
  head.writeBigUInt64LE(BigInt(count), 0);
  let offset = head.length;
  head.writeBigUInt64LE(BigInt(offset), 8);
  chunks.forEach((c, i) => {
    offset += c.length;
    head.writeBigUInt64LE(BigInt(offset), 8 * (i + 2));
  });
  return Buffer.concat([head, ...chunks]);
}

export function decodeWsMessage(framing: WsFraming, data: Buffer, isBinary: boolean): RawMessage {
  if (framing === "v1" && isBinary) return decodeV1(data);
  if (isBinary) throw new ProtocolError("binary frame on a legacy (JSON) kernel WebSocket");
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString("utf8"));
  } catch {
    throw new ProtocolError("WebSocket frame is not valid JSON");
  }
  if (!isObject(parsed)) throw new ProtocolError("WebSocket message is not a JSON object");
  return toRawMessage(
    parsed.channel,
    parsed.header,
    parsed.parent_header ?? {},
    parsed.metadata ?? {},
    parsed.content ?? {},
    [],
  );
}

function decodeV1(buf: Buffer): RawMessage {
  if (buf.length < 8) throw new ProtocolError("v1 frame shorter than its offset count");
  const count = Number(buf.readBigUInt64LE(0));
  if (count < 6 || buf.length < 8 * (count + 1))
    throw new ProtocolError(`v1 frame with ${count} offsets is truncated`);
  const offsets = Array.from({ length: count }, (_, i) => Number(buf.readBigUInt64LE(8 * (i + 1))));
  for (let i = 0; i < offsets.length; i++) {
    const o = offsets[i]!;
    if (o > buf.length || (i > 0 && o < offsets[i - 1]!))
      throw new ProtocolError("v1 frame has offsets out of range");
  }
  // The last offset marks the end of the last part; count parts = count - 1.
  const seg = (i: number) => buf.subarray(offsets[i]!, i + 1 < count ? offsets[i + 1]! : buf.length);
  const json = (i: number, what: string) => {
    try {
      return JSON.parse(seg(i).toString("utf8"));
    } catch {
      throw new ProtocolError(`v1 ${what} is not valid JSON`);
    }
  };
  const buffers: Uint8Array[] = [];
  for (let i = 5; i < count - 1; i++) buffers.push(seg(i));
  return toRawMessage(
    seg(0).toString("utf8"),
    json(1, "header"),
    json(2, "parent_header"),
    json(3, "metadata"),
    json(4, "content"),
    buffers,
  );
}
