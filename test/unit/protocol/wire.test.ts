/** ZMQ wire codec: signing over exactly the four JSON frames, and refusal of anything malformed. */
import { createHmac } from "node:crypto";
import { DELIMITER, WireCodec } from "../../../src/protocol/wire";
import { ProtocolError } from "../../../src/protocol/validate";

const KEY = "5ca1ab1e-0000-4000-8000-c0ffee000000";
const header = {
  msg_id: "m1",
  session: "s1",
  username: "u",
  date: "2026-01-01T00:00:00Z",
  msg_type: "kernel_info_request",
  version: "5.3",
};
const parts: Buffer[] = [header, {}, {}, {}].map((o) => Buffer.from(JSON.stringify(o)));

function signed(key: string, digest: string, json: Buffer[]): Buffer {
  const h = createHmac(digest, key);
  for (const p of json) h.update(p);
  return Buffer.from(h.digest("hex"));
}

function frames(sig: Buffer, json = parts, ids = [Buffer.from("client-1")]): Buffer[] {
  return [...ids, Buffer.from(DELIMITER), sig, ...json];
}

describe("WireCodec signing schemes", () => {
  test.each(["sha256", "sha384", "sha512", "sha1", "md5"])(
    "hmac-%s round trips and matches node's HMAC",
    (digest) => {
      const codec = new WireCodec(KEY, `hmac-${digest}`);
      const out = codec.encode([Buffer.from("id")], {
        header,
        parent_header: {},
        metadata: {},
        content: {},
        buffers: [],
      });
      expect(out[2]!.toString()).toBe(signed(KEY, digest, parts).toString());
      const { ids, message } = codec.decode("shell", out);
      expect(ids.map(String)).toEqual(["id"]);
      expect(message.header.msg_type).toBe("kernel_info_request");
    },
  );

  test.each(["hmac-sha3", "sha256", "rsa", "", "HMAC-SHA256"])("refuses signature_scheme %j", (scheme) => {
    expect(() => new WireCodec(KEY, scheme)).toThrow(ProtocolError);
    expect(() => new WireCodec(KEY, scheme)).toThrow(/unsupported signature_scheme/);
  });

  test("a message signed with another scheme is refused", () => {
    const codec = new WireCodec(KEY, "hmac-sha256");
    expect(() => codec.decode("shell", frames(signed(KEY, "sha512", parts)))).toThrow(
      "invalid HMAC signature",
    );
  });
});

describe("WireCodec.decode refuses malformed messages", () => {
  const codec = new WireCodec(KEY);
  const good = signed(KEY, "sha256", parts);
  const cases: [string, Buffer[], RegExp][] = [
    ["wrong key", frames(signed("another key", "sha256", parts)), /invalid HMAC signature/],
    ["empty signature", frames(Buffer.alloc(0)), /invalid HMAC signature/],
    ["signature of other length", frames(good.subarray(0, 10)), /invalid HMAC signature/],
    [
      "upper-case hex signature",
      frames(Buffer.from(good.toString().toUpperCase())),
      /invalid HMAC signature/,
    ],
    [
      "content tampered after signing",
      frames(good, [parts[0]!, parts[1]!, parts[2]!, Buffer.from('{"x":1}')]),
      /invalid HMAC signature/,
    ],
    ["missing delimiter", [Buffer.from("id"), good, ...parts], /missing <IDS\|MSG> delimiter/],
    ["only the delimiter", [Buffer.from(DELIMITER)], /truncated message: 0 of 5 frames/],
    ["no content frame", frames(good, parts.slice(0, 3)), /truncated message: 4 of 5 frames/],
    ["no frames at all", [], /missing <IDS\|MSG> delimiter/],
  ];
  test.each(cases)("%s", (_name, f, message) => {
    expect(() => codec.decode("shell", f)).toThrow(ProtocolError);
    expect(() => codec.decode("shell", f)).toThrow(message);
  });

  const badJson: [string, Buffer[], RegExp][] = [
    [
      "header not JSON",
      [Buffer.from("{nope"), parts[1]!, parts[2]!, parts[3]!],
      /header frame is not valid JSON/,
    ],
    [
      "parent not JSON",
      [parts[0]!, Buffer.from("]"), parts[2]!, parts[3]!],
      /parent_header frame is not valid JSON/,
    ],
    [
      "metadata not JSON",
      [parts[0]!, parts[1]!, Buffer.from(""), parts[3]!],
      /metadata frame is not valid JSON/,
    ],
    [
      "content not JSON",
      [parts[0]!, parts[1]!, parts[2]!, Buffer.from("\xff\xfe")],
      /content frame is not valid JSON/,
    ],
    [
      "content a JSON array",
      [parts[0]!, parts[1]!, parts[2]!, Buffer.from("[1]")],
      /content is not a JSON object/,
    ],
    [
      "header without msg_type",
      [Buffer.from('{"msg_id":"a"}'), parts[1]!, parts[2]!, parts[3]!],
      /header\.msg_type must be a non-empty string/,
    ],
    [
      "parent header half filled",
      [parts[0]!, Buffer.from('{"msg_id":"p"}'), parts[2]!, parts[3]!],
      /parent_header\.msg_type/,
    ],
  ];
  test.each(badJson)("%s (correctly signed)", (_name, json, message) => {
    expect(() => codec.decode("shell", frames(signed(KEY, "sha256", json), json))).toThrow(message);
  });
});

describe("WireCodec framing", () => {
  test("routing identities before the delimiter and buffers after content are kept", () => {
    const codec = new WireCodec(KEY);
    const ids = [Buffer.from([0, 1, 2]), Buffer.from("second")];
    const buffers = [Buffer.from([0xde, 0xad]), Buffer.alloc(0)];
    const f = [...frames(signed(KEY, "sha256", parts), parts, ids), ...buffers];
    const { ids: gotIds, message } = codec.decode("control", f);
    expect(gotIds).toEqual(ids);
    expect(message.channel).toBe("control");
    expect(message.buffers.map((b) => Buffer.from(b))).toEqual(buffers);
  });

  test("the signature covers only the four JSON frames, not buffers", () => {
    const codec = new WireCodec(KEY);
    const out = codec.encode([], {
      header,
      parent_header: {},
      metadata: {},
      content: {},
      buffers: [Buffer.from("b")],
    });
    expect(out[1]!.toString()).toBe(signed(KEY, "sha256", parts).toString());
    expect(out.length).toBe(7);
  });

  test("empty key: messages are neither signed nor checked", () => {
    const codec = new WireCodec("");
    const out = codec.encode([], { header, parent_header: {}, metadata: {}, content: {}, buffers: [] });
    expect(out[1]!.length).toBe(0);
    expect(codec.decode("shell", frames(Buffer.from("anything"))).message.header.msg_id).toBe("m1");
  });

  test("older clients' headers get the missing fields filled", () => {
    const codec = new WireCodec("");
    const h = Buffer.from(JSON.stringify({ msg_id: "m", msg_type: "execute_request" }));
    const { message } = codec.decode("shell", frames(Buffer.alloc(0), [h, parts[1]!, parts[2]!, parts[3]!]));
    expect(message.header).toEqual({
      msg_id: "m",
      msg_type: "execute_request",
      session: "",
      username: "",
      date: "",
      version: "",
    });
  });
});
