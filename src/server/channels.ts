/**
 * WebSocket `/api/kernels/{id}/channels`: the Jupyter Server kernel protocol. Clients that offer
 * `v1.kernel.websocket.jupyter.org` get binary framing; clients that offer no subprotocol (Notebook
 * 6's gateway client) get legacy JSON text frames. A malformed frame is logged and dropped; the
 * connection and the kernel carry on.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import { errorMessage } from "../errors";
import { maxMessageBytes } from "../protocol/limits";
import { V1_PROTOCOL, decodeWsMessage, encodeWsMessage, type WsFraming } from "../protocol/ws-framing";
import type { OutgoingMessage, SessionClient } from "../session/client";
import { refusal, type AccessPolicy } from "./auth";
import type { KernelManager } from "./kernel-manager";
import { dropAfterCloseFrame, isOversize } from "./ws-oversize";

const CHANNELS_PATH = /^\/api\/kernels\/([0-9a-f-]{36})\/channels\/?$/;

class WsClient implements SessionClient {
  private sent = 0;
  private done = 0;
  private readonly waiting: { upTo: number; fn: () => void }[] = [];

  constructor(
    readonly id: string,
    private readonly ws: WebSocket,
    private readonly framing: WsFraming,
    /** The connection's socket: whether what ws wrote is still in Node's buffer. */
    private readonly socket: Duplex,
  ) {}

  send(msg: OutgoingMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const n = ++this.sent;
    // ws calls back in order, once the frame is written to the socket (or failed to be).
    this.ws.send(encodeWsMessage(this.framing, msg), () => this.reached(n));
    // Nothing left in Node's buffer: the OS has it now. Said at once rather than when ws calls back
    // (an event-loop turn later, longer under load), so that what a cell records as delivered
    // follows within the same tick — a kill -9 in that gap made a restarted server send a line again.
    if (this.socket.writableLength === 0) this.reached(n);
  }

  /** Every frame up to the `n`th has left this process. */
  private reached(n: number): void {
    if (n <= this.done) return;
    this.done = n;
    while (this.waiting.length && this.waiting[0]!.upTo <= this.done) this.waiting.shift()!.fn();
  }

  whenSent(fn: () => void): void {
    if (this.done >= this.sent || this.ws.readyState !== this.ws.OPEN) fn();
    else this.waiting.push({ upTo: this.sent, fn });
  }

  close(reason: string): void {
    this.ws.close(1000, reason);
  }
}

export function attachChannels(
  server: Server,
  kernels: KernelManager,
  access: AccessPolicy,
  log: Logger,
  maxCellCodeMib: number,
  /** Other WebSocket endpoints: handles an upgrade that is theirs and says so. */
  other?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean,
): WebSocketServer {
  const maxPayload = maxMessageBytes(maxCellCodeMib);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload, // ws closes the connection (1009) as soon as a longer frame announces itself
    handleProtocols: (protocols) => (protocols.has(V1_PROTOCOL) ? V1_PROTOCOL : false),
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (other?.(req, socket, head)) return;
    const url = new URL(req.url ?? "/", "http://localhost");
    const m = CHANNELS_PATH.exec(url.pathname);
    const refuse = (code: number, text: string) => {
      socket.write(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const refused = refusal(req, access);
    if (refused) {
      log.warn({ path: url.pathname }, `WebSocket refused: ${refused.message}`);
      return refuse(refused.status, "Forbidden");
    }
    const session = m?.[1] ? kernels.get(m[1]) : undefined;
    if (!session) return refuse(404, "Not Found");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const framing: WsFraming = ws.protocol === V1_PROTOCOL ? "v1" : "legacy";
      const client = new WsClient(url.searchParams.get("session_id") || randomUUID(), ws, framing, socket);
      session.attach(client);
      log.info({ kernel: session.id, client: client.id, framing }, "channels connected");
      ws.on("message", (data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean) => {
        const buf = Buffer.isBuffer(data)
          ? data
          : Array.isArray(data)
            ? Buffer.concat(data)
            : Buffer.from(data);
        let msg;
        try {
          msg = decodeWsMessage(framing, buf, isBinary);
        } catch (err) {
          log.warn({ kernel: session.id }, `dropped a malformed WebSocket frame: ${errorMessage(err)}`);
          return;
        }
        if (msg.channel === "iopub")
          return log.warn({ kernel: session.id }, "dropped a message sent on iopub");
        session.handle(msg, client);
      });
      ws.on("close", () => {
        session.detach(client);
        log.info({ kernel: session.id, client: client.id }, "channels disconnected");
      });
      ws.on("error", (err: Error & { code?: string }) => {
        const tooBig = isOversize(err);
        if (tooBig) dropAfterCloseFrame(socket);
        log.warn(
          { kernel: session.id, client: client.id },
          tooBig
            ? `a message over ${maxPayload} bytes closed the connection (cells are limited by server.max_cell_code_mib)`
            : `websocket error: ${err.message}`,
        );
      });
    });
  });
  return wss;
}
