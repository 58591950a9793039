/** Every request and WebSocket needs the server's token (header `Authorization: token T`, `Bearer T`, or ?token=T). */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function requestToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /^(?:token|bearer)\s+(.+)$/i.exec(auth.trim()) : null;
  if (m?.[1]) return m[1];
  const q = new URL(req.url ?? "/", "http://localhost").searchParams.get("token");
  return q ?? undefined;
}

export function isAuthorized(req: IncomingMessage, token: string): boolean {
  const given = requestToken(req);
  return given !== undefined && same(given, token);
}
