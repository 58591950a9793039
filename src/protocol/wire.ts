/**
 * ZeroMQ wire format of the Jupyter protocol: [ids..., "<IDS|MSG>", hmac, header, parent_header,
 * metadata, content, buffers...], signed with HMAC over exactly the four JSON frames.
 * https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Channel, OutgoingMessage, RawMessage } from "./messages";
import { ProtocolError, toRawMessage } from "./validate";

export const DELIMITER = "<IDS|MSG>";
const DELIMITER_BYTES = Buffer.from(DELIMITER);

export interface DecodedFrames {
  /** ZMQ routing identities that preceded the delimiter (where to send the reply). */
  ids: Buffer[];
  message: RawMessage;
}

export class WireCodec {
  private readonly digest: string;

  constructor(
    private readonly key: string,
    signatureScheme = "hmac-sha256",
  ) {
    const m = /^hmac-(sha256|sha384|sha512|sha1|md5)$/.exec(signatureScheme);
    if (!m?.[1]) throw new ProtocolError(`unsupported signature_scheme ${JSON.stringify(signatureScheme)}`);
    this.digest = m[1];
  }

  sign(parts: readonly (Buffer | string)[]): string {
    if (!this.key) return "";
    const h = createHmac(this.digest, this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  /** Decodes and verifies one multipart message; throws ProtocolError on anything malformed. */
  decode(channel: Channel, frames: Buffer[]): DecodedFrames {
    const i = frames.findIndex((f) => f.equals(DELIMITER_BYTES));
    if (i < 0) throw new ProtocolError("missing <IDS|MSG> delimiter");
    if (frames.length < i + 6)
      throw new ProtocolError(`truncated message: ${frames.length - i - 1} of 5 frames`);
    const [sig, header, parent, metadata, content] = frames.slice(i + 1, i + 6) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    if (this.key) {
      const expected = Buffer.from(this.sign([header, parent, metadata, content]));
      if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) {
        throw new ProtocolError("invalid HMAC signature");
      }
    }
    const message = toRawMessage(
      channel,
      parseJson(header, "header"),
      parseJson(parent, "parent_header"),
      parseJson(metadata, "metadata"),
      parseJson(content, "content"),
      frames.slice(i + 6),
    );
    return { ids: frames.slice(0, i), message };
  }

  encode(ids: readonly Buffer[], msg: Omit<OutgoingMessage, "channel">): Buffer[] {
    const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((o) =>
      Buffer.from(JSON.stringify(o)),
    );
    return [
      ...ids,
      DELIMITER_BYTES,
      Buffer.from(this.sign(parts)),
      ...parts,
      ...msg.buffers.map((b) => Buffer.from(b)),
    ];
  }
}

function parseJson(frame: Buffer, what: string): unknown {
  try {
    return JSON.parse(frame.toString("utf8"));
  } catch {
    throw new ProtocolError(`${what} frame is not valid JSON`);
  }
}
