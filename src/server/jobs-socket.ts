/**
 * WebSocket `/api/jobs/feed`: the jobs feed for the standalone queue page (snapshot, then updates
 * and notices, as JSON text frames). Token-protected like every request, and refusing foreign
 * origins: a page served by another site cannot read it, even with the token (a browser always
 * sends `Origin` on a WebSocket; programs that send none are let in with the token alone).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { CellBook } from "../cells/cell-book";
import { isAuthorized } from "./auth";

export const JOBS_FEED_PATH = "/api/jobs/feed";

/** Same origin: the Origin header names this very server, as the browser reached it (Host). */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (!host) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === "http:" || o.protocol === "https:") && o.host === host.toLowerCase();
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
}

export interface JobsSocket {
  /** Handles an upgrade when it is for the feed; false when it is someone else's. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

export function jobsSocket(cells: CellBook, token: string, log: Logger): JobsSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const refuse = (socket: Duplex, code: number, text: string) => {
    socket.write(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  };
  return {
    upgrade(req, socket, head) {
      const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/$/, "");
      if (path !== JOBS_FEED_PATH) return false;
      if (!isAuthorized(req, token)) {
        refuse(socket, 403, "Forbidden");
        return true;
      }
      if (!sameOrigin(req)) {
        log.warn({ origin: req.headers.origin }, "jobs feed WebSocket from a foreign origin refused");
        refuse(socket, 403, "Forbidden");
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const unsubscribe = cells.feed.subscribe((m) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
        });
        // The feed goes one way; the page cancels and reads tails through the REST API.
        ws.on("message", () => {});
        ws.on("close", unsubscribe);
        ws.on("error", (err) => log.warn(`jobs feed websocket error: ${err.message}`));
      });
      return true;
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
