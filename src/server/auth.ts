/**
 * Who may use the server, checked on every REST request and WebSocket upgrade, as Jupyter Server
 * checks them:
 * - the Host header must name this machine (a loopback address, `localhost`, or a name in
 *   `server.allow_hosts`): a page whose domain was re-pointed at 127.0.0.1 (DNS rebinding) is refused;
 * - an Origin header, which browsers send, must be this server's own origin or one in
 *   `server.allow_origins` (`"*"` allows every origin); requests without one (programs: the kernel
 *   bridge, jupyter_server's gateway client, @jupyterlab/services under Node) go on;
 * - the token, in the `Authorization` header (`token T` or `Bearer T`). In the URL (`?token=T`)
 *   only where a browser cannot send a header: the WebSockets (kernel channels, jobs feed), the
 *   kernelspec logos an `<img>` loads, and the queue page `alpine-kernel open` opens. A token in a URL ends up in logs and browser history.
 */
import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

export interface AccessPolicy {
  token: string;
  /** Origins allowed besides the server's own: "http://localhost:8888", or "*" for every origin. */
  allowOrigins: readonly string[];
  /** Host names allowed besides loopback addresses and `localhost`. */
  allowHosts: readonly string[];
}

/** Where a browser cannot send an Authorization header: the token may come as ?token=. */
const QUERY_TOKEN_ROUTES: readonly { method: string; path: RegExp }[] = [
  { method: "GET", path: /^\/api\/kernels\/[^/]+\/channels\/?$/ }, // a WebSocket: no headers from a browser
  { method: "GET", path: /^\/kernelspecs\/[^/]+\/[^/]+$/ }, // the logos, loaded by <img>
  { method: "GET", path: /^\/api\/jobs\/feed\/?$/ }, // the queue page's WebSocket
  { method: "GET", path: /^\/queue\/?$/ }, // the queue page, opened from `alpine-kernel open`
];

export interface Refusal {
  status: 403;
  message: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function headerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  const m = auth ? /^(?:token|bearer)\s+(.+)$/i.exec(auth.trim()) : null;
  return m?.[1];
}

/** The host name of a Host header: without the port, IPv6 without its brackets, lower case. */
function hostName(host: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(host.trim());
  return (m?.[1] ?? host).replace(/^\[|\]$/g, "").toLowerCase();
}

function isLoopback(name: string): boolean {
  if (name === "localhost") return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  if (isIP(name) === 6) return name === "::1" || /^::ffff:127\./.test(name);
  return false;
}

/** The request's origin as scheme://host[:port], lower case; "null" for opaque origins. */
function normalOrigin(origin: string): string {
  try {
    const u = new URL(origin);
    return u.origin === "null" ? "null" : u.origin.toLowerCase();
  } catch {
    return "null";
  }
}

function hostRefusal(req: IncomingMessage, policy: AccessPolicy): string | undefined {
  const host = req.headers.host;
  if (host === undefined) return undefined; // HTTP/1.0: nothing to check, as in Jupyter Server
  const name = hostName(host);
  if (isLoopback(name) || policy.allowHosts.some((h) => h.toLowerCase() === name)) return undefined;
  return `a request for host '${host}' refused: this server answers only to this machine's own names (add '${name}' to server.allow_hosts if that is one)`;
}

function originRefusal(req: IncomingMessage, policy: AccessPolicy): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined; // not a browser
  if (policy.allowOrigins.includes("*")) return undefined;
  const o = normalOrigin(origin);
  if (o !== "null" && req.headers.host && new URL(o).host === req.headers.host.toLowerCase())
    return undefined;
  if (policy.allowOrigins.some((a) => normalOrigin(a) === o && o !== "null")) return undefined;
  return `a cross-origin request from ${origin} refused (add it to server.allow_origins to allow it)`;
}

/** The Origin of a browser request that may be answered (to go in Access-Control-Allow-Origin). */
export function allowedOrigin(req: IncomingMessage, policy: AccessPolicy): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined || hostRefusal(req, policy) || originRefusal(req, policy)) return undefined;
  return origin;
}

/** Why the request is refused, or undefined when it may go on. */
export function refusal(req: IncomingMessage, policy: AccessPolicy): Refusal | undefined {
  const wrong = hostRefusal(req, policy) ?? originRefusal(req, policy);
  if (wrong) return { status: 403, message: `Forbidden: ${wrong}` };
  const given = headerToken(req.headers);
  if (given !== undefined) {
    if (same(given, policy.token)) return undefined;
  } else {
    const url = new URL(req.url ?? "/", "http://localhost");
    const query = url.searchParams.get("token");
    if (query !== null) {
      const route = QUERY_TOKEN_ROUTES.find((r) => r.method === req.method && r.path.test(url.pathname));
      if (!route)
        return {
          status: 403,
          message:
            "Forbidden: a token in the URL is accepted only where a browser cannot send a header (WebSockets, logos); send it as `Authorization: token …`",
        };
      if (same(query, policy.token)) return undefined;
    }
  }
  return { status: 403, message: "Forbidden: this server needs its token (see `alpine-kernel status`)" };
}
