/** WebSocket framing: v1 binary frames (with buffers) and legacy JSON text frames. */
import { decodeWsMessage, encodeWsMessage } from "../../../src/protocol/ws-framing";
import type { OutgoingMessage } from "../../../src/protocol/messages";
import { ProtocolError } from "../../../src/protocol/validate";

const header = {
  msg_id: "m1",
  session: "s",
  username: "u",
  date: "2026-01-01T00:00:00Z",
  msg_type: "execute_request",
  version: "5.3",
};
const parent = { ...header, msg_id: "p1", msg_type: "kernel_info_request" };
const msg: OutgoingMessage = {
  channel: "shell",
  header,
  parent_header: parent,
  metadata: { cellId: "c-1" },
  content: { code: "print('héllo ✓')", silent: false },
  buffers: [],
};

/** Builds a v1 frame by hand from its parts, as jupyter_server's serializer does. */
function v1(parts: Buffer[]): Buffer {
  const count = parts.length + 1;
  const head = Buffer.alloc(8 * (count + 1));
  head.writeBigUInt64LE(BigInt(count), 0);
  let off = head.length;
  head.writeBigUInt64LE(BigInt(off), 8);
  parts.forEach((p, i) => {
    off += p.length;
    head.writeBigUInt64LE(BigInt(off), 8 * (i + 2));
  });
  return Buffer.concat([head, ...parts]);
}
const json = (o: unknown) => Buffer.from(JSON.stringify(o));

describe("v1 binary framing", () => {
  test("round trip without buffers", () => {
    const frame = encodeWsMessage("v1", msg);
    expect(Buffer.isBuffer(frame)).toBe(true);
    const back = decodeWsMessage("v1", frame as Buffer, true);
    expect(back).toEqual({ ...msg, buffers: [] });
  });

  test("round trip with binary buffers, empty ones included", () => {
    const buffers = [Buffer.from([0, 255, 1, 254]), Buffer.alloc(0), Buffer.from("third")];
    const frame = encodeWsMessage("v1", { ...msg, buffers }) as Buffer;
    const back = decodeWsMessage("v1", frame, true);
    expect(back.buffers.map((b) => Buffer.from(b))).toEqual(buffers);
    expect(back.content).toEqual(msg.content);
  });

  test("reads frames laid out as jupyter_server writes them", () => {
    const frame = v1([
      Buffer.from("iopub"),
      json(header),
      json({}),
      json({}),
      json({ name: "stdout", text: "x" }),
    ]);
    expect(decodeWsMessage("v1", frame, true)).toMatchObject({
      channel: "iopub",
      content: { name: "stdout", text: "x" },
      buffers: [],
    });
  });

  const good = encodeWsMessage("v1", msg) as Buffer;
  const corrupt = (f: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const cases: [string, Buffer, RegExp][] = [
    ["empty frame", Buffer.alloc(0), /shorter than its offset count/],
    ["seven bytes", Buffer.alloc(7), /shorter than its offset count/],
    ["offset count too small", corrupt((b) => b.writeBigUInt64LE(3n, 0)), /with 3 offsets is truncated/],
    [
      "offset count larger than the frame",
      corrupt((b) => b.writeBigUInt64LE(1n << 40n, 0)),
      /offsets is truncated/,
    ],
    ["truncated in the offset table", good.subarray(0, 20), /offsets is truncated/],
    ["truncated in the content", good.subarray(0, good.length - 5), /offsets out of range|not valid JSON/],
    ["offsets going backwards", corrupt((b) => b.writeBigUInt64LE(2n, 8 * 3)), /offsets out of range/],
    [
      "garbage bytes",
      Buffer.from("\x07\x00\x00\x00\x00\x00\x00\x00garbage-garbage-garbage-garbage-garbage-garbage-garbage"),
      /offsets/,
    ],
    [
      "header that is not JSON",
      v1([Buffer.from("shell"), Buffer.from("{"), json({}), json({}), json({})]),
      /v1 header is not valid JSON/,
    ],
    [
      "content that is not JSON",
      v1([Buffer.from("shell"), json(header), json({}), json({}), Buffer.from("nope")]),
      /v1 content is not valid JSON/,
    ],
    [
      "unknown channel",
      v1([Buffer.from("nosuch"), json(header), json({}), json({}), json({})]),
      /unknown channel "nosuch"/,
    ],
    [
      "content an array",
      v1([Buffer.from("shell"), json(header), json({}), json({}), json([])]),
      /content is not a JSON object/,
    ],
  ];
  test.each(cases)("refuses %s", (_name, frame, message) => {
    expect(() => decodeWsMessage("v1", frame, true)).toThrow(ProtocolError);
    expect(() => decodeWsMessage("v1", frame, true)).toThrow(message);
  });

  test("a text frame on a v1 socket is read as legacy JSON", () => {
    const text = Buffer.from(encodeWsMessage("legacy", msg) as string);
    expect(decodeWsMessage("v1", text, false).header.msg_id).toBe("m1");
  });
});

describe("legacy JSON framing", () => {
  test("round trip; the text carries msg_id and msg_type at the top, as Notebook 6 expects", () => {
    const text = encodeWsMessage("legacy", msg);
    expect(typeof text).toBe("string");
    const parsed = JSON.parse(text as string) as Record<string, unknown>;
    expect(parsed).toMatchObject({ msg_id: "m1", msg_type: "execute_request", channel: "shell" });
    expect(decodeWsMessage("legacy", Buffer.from(text as string), false)).toEqual({ ...msg, buffers: [] });
  });

  test("parent_header, metadata and content may be omitted", () => {
    const back = decodeWsMessage("legacy", json({ channel: "shell", header }), false);
    expect(back).toMatchObject({ parent_header: {}, metadata: {}, content: {} });
  });

  const cases: [string, Buffer, boolean, RegExp][] = [
    ["a binary frame", encodeWsMessage("v1", msg) as Buffer, true, /binary frame on a legacy/],
    ["text that is not JSON", Buffer.from("hello"), false, /not valid JSON/],
    ["a JSON array", Buffer.from("[]"), false, /not a JSON object/],
    ["a JSON string", Buffer.from('"x"'), false, /not a JSON object/],
    ["no channel", json({ header }), false, /unknown channel undefined/],
    ["no header", json({ channel: "shell" }), false, /header is not a JSON object/],
    [
      "header with an empty msg_id",
      json({ channel: "shell", header: { ...header, msg_id: "" } }),
      false,
      /msg_id must be a non-empty string/,
    ],
    [
      "session that is a number",
      json({ channel: "shell", header: { ...header, session: 3 } }),
      false,
      /header\.session must be a string/,
    ],
  ];
  test.each(cases)("refuses %s", (_name, frame, isBinary, message) => {
    expect(() => decodeWsMessage("legacy", frame, isBinary)).toThrow(message);
  });
});
