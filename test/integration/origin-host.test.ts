/**
 * Who may talk to the server (issue 10, defect 7): before, no Origin or Host was checked on the
 * WebSocket and REST routes, and `?token=` was accepted everywhere. Checked with real clients: raw
 * HTTP requests and `ws` with forged headers, and headless Chromium — a page of another origin
 * (refused, then allowed through `server.allow_origins`, CORS preflight included) and a domain
 * re-pointed at 127.0.0.1 (DNS rebinding, refused by its Host).
 */
import { request, createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser } from "playwright-core";
import NodeWebSocket from "ws";
import { isolatedEnv, requireProgram, type IsolatedEnv } from "../helpers/env";
import { spawnServer, waitFor, waitForServer, type RuntimeInfo, type Spawned } from "../helpers/processes";
import { startKernel, V1 } from "../helpers/ws-client";

jest.setTimeout(60_000);

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // A name that resolves to this machine, as a rebinding attacker's domain would.
  "--host-resolver-rules=MAP rebind.test 127.0.0.1",
];
const BASE_CONFIG = "backend: local\nenvironment:\n  python: /usr/bin/python3\n";

interface Running {
  iso: IsolatedEnv;
  proc: Spawned;
  info: RuntimeInfo;
}
async function serve(config: string): Promise<Running> {
  const iso = isolatedEnv(config);
  const proc = spawnServer(iso);
  const info = await waitForServer(iso).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
  return { iso, proc, info };
}

/** A raw HTTP request, so that Host and Origin can be anything. */
function raw(
  server: RuntimeInfo,
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, path, method, headers }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Opens the channels WebSocket; resolves with the HTTP status of a refused handshake, or 101. */
function wsHandshake(url: string, options: NodeWebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const ws = new NodeWebSocket(url, [V1], options);
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", () => resolve(-1));
  });
}

let plain: Running; // no allow-list
let allowing: Running; // allows the page's origin
let page: Server; // serves the "other origin" page
let pageOrigin: string;
let browser: Browser;

beforeAll(async () => {
  requireProgram(CHROMIUM, "apt-get install chromium (scripts/install-system-deps.sh)");
  page = createServer((_req, res) => res.end("<!doctype html><title>another origin</title>"));
  await new Promise<void>((r) => page.listen(0, "127.0.0.1", () => r()));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  [plain, allowing] = await Promise.all([
    serve(BASE_CONFIG),
    serve(`${BASE_CONFIG}server:\n  allow_origins: ["${pageOrigin}"]\n`),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  for (const s of [plain, allowing]) {
    await s?.proc.stop();
    s?.iso.cleanup();
  }
  page?.close();
});

const auth = () => ({ Authorization: `token ${plain.info.token}` });

describe("REST", () => {
  test("a Host that is not this machine is refused (DNS rebinding); this machine's names are not", async () => {
    for (const host of ["evil.example", `rebind.test:${plain.info.port}`, "10.1.2.3"]) {
      const r = await raw(plain.info, "/api", { ...auth(), Host: host });
      expect([host, r.status]).toEqual([host, 403]);
      expect(r.body).toMatch(
        /request for host .* refused: this server answers only to this machine's own names/,
      );
    }
    for (const host of [
      `127.0.0.1:${plain.info.port}`,
      `localhost:${plain.info.port}`,
      `[::1]:${plain.info.port}`,
    ])
      expect([host, (await raw(plain.info, "/api", { ...auth(), Host: host })).status]).toEqual([host, 200]);
  });

  test("a foreign Origin is refused even with the token; the server's own origin is not", async () => {
    const evil = await raw(plain.info, "/api/kernels", { ...auth(), Origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toEqual({
      message:
        "Forbidden: a cross-origin request from http://evil.example refused (add it to server.allow_origins to allow it)",
    });
    expect((await raw(plain.info, "/api/kernels", { ...auth(), Origin: plain.info.url })).status).toBe(200);
  });

  test("?token= is refused on REST routes, with a message saying where to put it", async () => {
    const r = await raw(plain.info, `/api/kernels?token=${plain.info.token}`, {});
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/token in the URL is accepted only where a browser cannot send a header/);
    // ...and accepted for the logos an <img> loads.
    expect(
      (await raw(plain.info, `/kernelspecs/alpine/logo-32x32.png?token=${plain.info.token}`, {})).status,
    ).toBe(200);
  });
});

describe("the channels WebSocket", () => {
  let kernelId: string;
  beforeAll(async () => {
    kernelId = await startKernel(plain.info);
  });
  const url = (token?: string) =>
    `${plain.info.url.replace("http", "ws")}/api/kernels/${kernelId}/channels${token ? `?token=${token}` : ""}`;

  test("the token in the URL (what a browser and @jupyterlab/services send) or in a header", async () => {
    expect(await wsHandshake(url(plain.info.token), {})).toBe(101);
    expect(await wsHandshake(url(), { headers: auth() })).toBe(101);
    expect(await wsHandshake(url("wrong"), {})).toBe(403);
  });

  test("a foreign Origin or Host is refused, with the right token", async () => {
    expect(await wsHandshake(url(plain.info.token), { origin: "http://evil.example" })).toBe(403);
    expect(await wsHandshake(url(plain.info.token), { headers: { Host: "evil.example" } })).toBe(403);
    expect(await wsHandshake(url(plain.info.token), { origin: plain.info.url })).toBe(101);
  });
});

describe("in a browser", () => {
  /** From a page of another origin: a REST call with the token, and the channels WebSocket with ?token=. */
  async function fromOtherOrigin(server: RuntimeInfo): Promise<{ rest: string; ws: string }> {
    const kernelId = await startKernel(server);
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(pageOrigin);
      return await tab.evaluate(
        async ({ url, token, kernelId }) => {
          const rest = await fetch(`${url}/api/kernels`, {
            headers: { Authorization: `token ${token}` },
          }).then(
            async (r) => `${r.status} ${((await r.json()) as { id: string }[]).map((k) => k.id).join(",")}`,
            (e: Error) => `failed: ${e.message}`,
          );
          const ws = await new Promise<string>((resolve) => {
            const sock = new window.WebSocket(
              `${url.replace("http", "ws")}/api/kernels/${kernelId}/channels?token=${token}`,
            );
            sock.onmessage = (m) => {
              const msg = JSON.parse(String(m.data)) as { header: { msg_type: string } };
              if (msg.header.msg_type === "kernel_info_reply") resolve("kernel_info_reply");
            };
            sock.onopen = () =>
              sock.send(
                JSON.stringify({
                  header: {
                    msg_id: "m1",
                    session: "s",
                    username: "u",
                    date: "",
                    msg_type: "kernel_info_request",
                    version: "5.3",
                  },
                  parent_header: {},
                  metadata: {},
                  content: {},
                  channel: "shell",
                }),
              );
            sock.onclose = () => resolve("closed");
          });
          return { rest, ws };
        },
        { url: server.url, token: server.token, kernelId },
      );
    } finally {
      await context.close();
    }
  }

  test("a page of another origin can neither call the API nor open a kernel's channels", async () => {
    expect(await fromOtherOrigin(plain.info)).toEqual({ rest: "failed: Failed to fetch", ws: "closed" });
    // The server's log says what was refused and why (the browser only sees a failed request). The
    // log comes through a pipe, the browser's answer through Chromium: either may arrive first.
    const said = (text: string) => waitFor(text, () => plain.proc.output().includes(text), 5000);
    await said(
      `"method":"OPTIONS","path":"/api/kernels","msg":"request refused: Forbidden: a cross-origin request from ${pageOrigin} refused`,
    );
    await said(`WebSocket refused: Forbidden: a cross-origin request from ${pageOrigin} refused`);
  });

  test("...unless its origin is in server.allow_origins (CORS preflight answered)", async () => {
    const r = await fromOtherOrigin(allowing.info);
    expect(r.ws).toBe("kernel_info_reply");
    expect(r.rest).toMatch(/^200 [0-9a-f-]{36}/);
  });

  test("a domain re-pointed at 127.0.0.1 (DNS rebinding) is refused by its Host", async () => {
    const context = await browser.newContext({ extraHTTPHeaders: auth() });
    try {
      const tab = await context.newPage();
      const res = await tab.goto(`http://rebind.test:${plain.info.port}/api/kernels`);
      expect(res?.status()).toBe(403);
      expect(await tab.textContent("body")).toMatch(/request for host 'rebind.test:\d+' refused/);
    } finally {
      await context.close();
    }
  });
});
