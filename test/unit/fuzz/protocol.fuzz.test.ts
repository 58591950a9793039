/**
 * Fuzzing the two decoders every frontend message passes (issue 10, "fuzzers in the suite"): the
 * ZeroMQ wire codec (HMAC checked) and the WebSocket framings (v1 binary, legacy JSON), then the
 * request validation. Any input is decoded or refused with a ProtocolError — never another
 * exception, which would end the bridge or the connection. Random bytes, and valid messages cut,
 * spliced and bit-flipped (re-signed, so they get past the HMAC to the JSON and its checks).
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { asRequest, ProtocolError } from "../../../src/protocol/validate";
import { DELIMITER, WireCodec } from "../../../src/protocol/wire";
import { decodeWsMessage } from "../../../src/protocol/ws-framing";
import { encodeV1 } from "../../helpers/ws-client";
import { FUZZ } from "../../helpers/fuzz";
import { ANSWERED_REQUESTS, messageParts } from "../../helpers/fuzz-messages";

const KEY = "fuzz-key";
const codec = new WireCodec(KEY, "hmac-sha256");
const sign = (parts: Buffer[]) => {
  const h = createHmac("sha256", KEY);
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

const { header, content } = messageParts([...ANSWERED_REQUESTS, "shutdown_request", "interrupt_request"]);
const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? "null");
const parts = fc
  .tuple(header, fc.jsonValue(), fc.jsonValue(), content)
  .map(([h, p, m, c]) => [json(h), json(p), json(m), json(c)]);

/** Spoils a buffer: cut, flipped byte, or nothing. */
const spoil = (b: Buffer) =>
  fc.oneof(
    fc.constant(b),
    fc.nat(b.length).map((n) => b.subarray(0, n)),
    fc.tuple(fc.nat(Math.max(b.length - 1, 0)), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
      const c = Buffer.from(b);
      if (c.length) c[i] = v;
      return c;
    }),
  );

/** Decoded, or refused with a ProtocolError, and if decoded its request is valid or refused the same way. */
function decodedOrRefused(decode: () => ReturnType<WireCodec["decode"]>["message"]): void {
  try {
    const msg = decode();
    asRequest(msg);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

describe("ZeroMQ wire codec", () => {
  test("random frames", () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
      fc.constant(Buffer.from(DELIMITER)),
    );
    fc.assert(
      fc.property(
        fc.constantFrom("shell", "control", "stdin") as fc.Arbitrary<"shell">,
        fc.array(frame, { maxLength: 10 }),
        (ch, frames) => decodedOrRefused(() => codec.decode(ch, frames).message),
      ),
      FUZZ,
    );
  });

  test("signed messages with any JSON, and spoiled ones", () => {
    const message = parts.chain(([h0, p0, m0, c0]) =>
      fc
        .record({
          resign: fc.boolean(),
          h: spoil(h0!),
          p: spoil(p0!),
          m: spoil(m0!),
          c: spoil(c0!),
          extra: fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 2 }),
        })
        .map(({ resign, h, p, m, c, extra }) => {
          const four = [h, p, m, c];
          const sig = sign(resign ? four : [h0!, p0!, m0!, c0!]);
          return [
            Buffer.from("id"),
            Buffer.from(DELIMITER),
            Buffer.from(sig),
            ...four,
            ...extra.map((u) => Buffer.from(u)),
          ];
        }),
    );
    fc.assert(
      fc.property(message, (frames) => decodedOrRefused(() => codec.decode("shell", frames).message)),
      FUZZ,
    );
  });
});

describe("WebSocket framings", () => {
  test("random bytes and text, both framings", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("v1", "legacy") as fc.Arbitrary<"v1" | "legacy">,
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
          fc.string().map((s) => Buffer.from(s)),
        ),
        fc.boolean(),
        (framing, data, binary) => decodedOrRefused(() => decodeWsMessage(framing, data, binary)),
      ),
      FUZZ,
    );
  });

  test("v1 frames with any JSON, spoiled offsets and cut short", () => {
    const frame = fc
      .tuple(fc.constantFrom("shell", "control", "stdin", "iopub", "x"), header, fc.jsonValue(), content)
      .chain(([ch, h, m, c]) => spoil(encodeV1(ch, [h, {}, m, c])));
    const withOffsets = fc
      .tuple(frame, fc.nat(7), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
      .map(([f, slot, v]) => {
        const b = Buffer.from(f);
        if (b.length >= 8 * (slot + 1)) b.writeBigUInt64LE(v, 8 * slot);
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(frame, withOffsets), (data) =>
        decodedOrRefused(() => decodeWsMessage("v1", data, true)),
      ),
      FUZZ,
    );
  });

  test("legacy JSON messages of any shape", () => {
    const msg = fc.record(
      {
        header,
        parent_header: fc.jsonValue(),
        metadata: fc.jsonValue(),
        content,
        channel: fc.oneof(fc.constantFrom("shell", "control", "stdin"), fc.jsonValue()),
        buffers: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(msg, fc.jsonValue()), (m) =>
        decodedOrRefused(() => decodeWsMessage("legacy", Buffer.from(JSON.stringify(m) ?? ""), false)),
      ),
      FUZZ,
    );
  });
});
