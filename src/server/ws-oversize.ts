/** What a server WebSocket does with a frame over its maxPayload. */
import type { Duplex } from "node:stream";

/**
 * After an oversized frame ws sends the close frame (1009) and then reads and discards the rest of
 * the frame, at full speed, until the close handshake ends — up to 30 s of a sender's garbage
 * (measured: +15 to +53 MiB of server RSS for one 64–128 MiB frame). Stop reading at once (ws
 * resumes the socket on the next tick, so pause after it) and drop the connection once the close
 * frame has had time to reach the client (+0.3 MiB).
 */
export function dropAfterCloseFrame(socket: Duplex): void {
  setImmediate(() => socket.pause());
  setTimeout(() => socket.destroy(), 1000).unref();
}

export const isOversize = (err: Error & { code?: string }): boolean =>
  err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
