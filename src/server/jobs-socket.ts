/**
 * WebSocket `/api/jobs/feed`: the jobs feed for the standalone queue page (snapshot, then updates
 * and notices, as JSON text frames). Checked as every request is (auth.ts: Host, Origin, token —
 * the token may come as `?token=`, a browser's WebSocket cannot send a header): a page served by
 * another site cannot read it, even with the token.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { CellBook } from "../cells/cell-book";
import { refusal, type AccessPolicy } from "./auth";
import { dropAfterCloseFrame, isOversize } from "./ws-oversize";

export const JOBS_FEED_PATH = "/api/jobs/feed";

export interface JobsSocket {
  /** Handles an upgrade when it is for the feed; false when it is someone else's. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

export function jobsSocket(cells: CellBook, access: AccessPolicy, log: Logger): JobsSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const refuse = (socket: Duplex, code: number, text: string) => {
    socket.write(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  };
  return {
    upgrade(req, socket, head) {
      const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/$/, "");
      if (path !== JOBS_FEED_PATH) return false;
      const refused = refusal(req, access);
      if (refused) {
        if (req.headers.origin !== undefined)
          log.warn({ origin: req.headers.origin }, "jobs feed WebSocket refused: " + refused.message);
        refuse(socket, refused.status, "Forbidden");
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const unsubscribe = cells.feed.subscribe((m) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
        });
        // The feed goes one way; the page cancels and reads tails through the REST API.
        ws.on("message", () => {});
        ws.on("close", unsubscribe);
        ws.on("error", (err) => {
          if (isOversize(err)) dropAfterCloseFrame(socket);
          log.warn(`jobs feed websocket error: ${err.message}`);
        });
      });
      return true;
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
