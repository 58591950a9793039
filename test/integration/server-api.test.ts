/**
 * The server's REST side and its life as a process: token checks, kernelspecs and logos, bad bodies,
 * unknown ids, interrupt/restart, the runtime file (0600, removed on exit, stale ones harmless), one
 * server for bridges that start together, the idle exit, and nothing listening beyond 127.0.0.1.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { isolatedEnv, type IsolatedEnv } from "../helpers/env";
import {
  listeningAddresses,
  pidAlive,
  readRuntime,
  runtimeFile,
  serverPidsIn,
  spawnBridge,
  spawnServer,
  waitFor,
  waitForServer,
  writeConnectionFile,
  type RuntimeInfo,
  type Spawned,
} from "../helpers/processes";
import { startKernel } from "../helpers/ws-client";
import { ZmqKernelClient } from "../helpers/zmq-client";

jest.setTimeout(60_000);

const CONFIG = "backend: local\nenvironment:\n  python: /usr/bin/python3\n";

describe("a foreground server", () => {
  let iso: IsolatedEnv;
  let proc: Spawned;
  let server: RuntimeInfo;
  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token, ...rest } = init;
    const headers: Record<string, string> = { ...(rest.headers as Record<string, string>) };
    if (token !== null) headers.Authorization = `token ${token ?? server.token}`;
    return fetch(`${server.url}${path}`, { ...rest, headers });
  };

  beforeAll(async () => {
    iso = isolatedEnv(CONFIG);
    proc = spawnServer(iso);
    server = await waitForServer(iso).catch((err: Error) => {
      throw new Error(`${err.message}\nserver output:\n${proc.output()}`);
    });
  });
  afterAll(async () => {
    await proc?.stop();
    iso?.cleanup();
  });

  test("listens on 127.0.0.1 only", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const addrs = listeningAddresses(proc.pid);
    expect(addrs).toEqual([`127.0.0.1:${server.port}`]);
  });

  test("the runtime file is private (0600 in a 0700 directory) and describes this process", () => {
    const file = runtimeFile(iso);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(iso.env.ALPINE_KERNEL_RUNTIME_DIR!).mode & 0o777).toBe(0o700);
    expect(server.pid).toBe(proc.pid);
    expect(server.token).toMatch(/^[0-9a-f]{48}$/);
  });

  test.each([
    ["no token", { token: null }],
    ["a wrong token", { token: "0".repeat(48) }],
    ["an empty token", { headers: { Authorization: "token " }, token: null }],
    ["the token as a prefix", { token: "x" }],
  ])("%s: 403 on every route", async (_name, init) => {
    for (const path of [
      "/api",
      "/api/kernels",
      "/api/kernelspecs",
      "/kernelspecs/alpine/logo-64x64.png",
      "/api/nosuch",
    ]) {
      const res = await api(path, init as RequestInit & { token?: string | null });
      expect([path, res.status]).toEqual([path, 403]);
      expect(((await res.json()) as { message: string }).message).toMatch(/needs its token/);
    }
    const post = await api("/api/kernels", {
      ...(init as RequestInit & { token?: string | null }),
      method: "POST",
    });
    expect(post.status).toBe(403);
  });

  test("the token is accepted as `token` and `Bearer`; ?token= only where a browser sends no header", async () => {
    expect((await api("/api")).status).toBe(200);
    expect(
      (await api("/api", { token: null, headers: { Authorization: `Bearer ${server.token}` } })).status,
    ).toBe(200);
    const inUrl = await api(`/api?token=${server.token}`, { token: null });
    expect(inUrl.status).toBe(403);
    expect(((await inUrl.json()) as { message: string }).message).toMatch(
      /token in the URL is accepted only/,
    );
    expect(
      (await api(`/kernelspecs/alpine/logo-64x64.png?token=${server.token}`, { token: null })).status,
    ).toBe(200);
  });

  test("kernelspecs and their logo resources", async () => {
    const specs = (await (await api("/api/kernelspecs")).json()) as {
      default: string;
      kernelspecs: Record<
        string,
        { name: string; spec: { language: string; argv: string[] }; resources: Record<string, string> }
      >;
    };
    expect(specs.default).toBe("alpine");
    const spec = specs.kernelspecs.alpine!;
    expect(spec.spec.language).toBe("python");
    expect(spec.spec.argv).toContain("{connection_file}");
    for (const size of ["32x32", "64x64"]) {
      const res = await api(spec.resources[`logo-${size}`]!);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      const png = Buffer.from(await res.arrayBuffer());
      expect(png.subarray(1, 4).toString()).toBe("PNG");
    }
    expect((await api("/api/kernelspecs/alpine")).status).toBe(200);
    expect((await api("/api/kernelspecs/python3")).status).toBe(404);
    expect((await api("/kernelspecs/alpine/logo-999x999.png")).status).toBe(404);
    expect((await api("/kernelspecs/alpine/..%2F..%2Fpackage.json")).status).toBe(404);
  });

  test.each([
    ["text that is not JSON", "{name: alpine", /^request body is not valid JSON: /],
    ["a name that is a number", JSON.stringify({ name: 5 }), /^bad request body: name: .*string/],
    ["env that is a list", JSON.stringify({ env: ["A=1"] }), /^bad request body: env: /],
    [
      "an env value that is not a string",
      JSON.stringify({ env: { KERNEL_WORKING_DIR: 3 } }),
      /^bad request body: env\.KERNEL_WORKING_DIR: /,
    ],
    ["a body that is a JSON array", "[]", /^bad request body: body: /],
    [
      "a kernelspec this server does not run",
      JSON.stringify({ name: "python3" }),
      /^no kernelspec 'python3' here; this server runs 'alpine'$/,
    ],
  ])(
    "POST /api/kernels with %s: 400 with a message that says what is wrong",
    async (_name, body, message) => {
      const res = await api("/api/kernels", {
        method: "POST",
        body,
        headers: { "Content-Type": "application/json" },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(message);
    },
  );

  test("unknown kernel ids: 404 for GET, DELETE, interrupt, restart and the channels", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    for (const [method, path] of [
      ["GET", `/api/kernels/${id}`],
      ["DELETE", `/api/kernels/${id}`],
      ["POST", `/api/kernels/${id}/interrupt`],
      ["POST", `/api/kernels/${id}/restart`],
      ["GET", "/api/kernels/not-a-uuid"],
    ] as const) {
      const res = await api(path, { method });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      if (path.includes(id))
        expect(((await res.json()) as { message: string }).message).toBe(`Kernel does not exist: ${id}`);
    }
  });

  test("start, list, interrupt, restart and delete a kernel", async () => {
    const id = await startKernel(server);
    const model = (await (await api(`/api/kernels/${id}`)).json()) as Record<string, unknown>;
    expect(model).toMatchObject({ id, name: "alpine", execution_state: "idle", connections: 0 });
    expect(new Date(String(model.last_activity)).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const list = (await (await api("/api/kernels")).json()) as { id: string }[];
    expect(list.map((k) => k.id)).toContain(id);

    expect((await api(`/api/kernels/${id}/interrupt`, { method: "POST" })).status).toBe(204);
    const restarted = await api(`/api/kernels/${id}/restart`, { method: "POST" });
    expect(restarted.status).toBe(200);
    expect(await restarted.json()).toMatchObject({ id, execution_state: "idle" });

    expect((await api(`/api/kernels/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/api/kernels/${id}`)).status).toBe(404);
    expect((await api(`/api/kernels/${id}`, { method: "DELETE" })).status).toBe(404);
  });

  test("a second `serve` refuses to start while this one runs", async () => {
    const second = spawnServer(iso);
    const { code } = await second.exited;
    expect(code).toBe(2);
    expect(second.output()).toMatch(/a server is already running at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/);
    expect(readRuntime(iso)?.pid).toBe(proc.pid);
  });

  test("the runtime file is removed when the server exits (SIGTERM)", async () => {
    const other = isolatedEnv(CONFIG);
    try {
      const p = spawnServer(other);
      await waitForServer(other);
      expect(existsSync(runtimeFile(other))).toBe(true);
      p.proc.kill("SIGTERM");
      expect((await p.exited).code).toBe(0);
      expect(existsSync(runtimeFile(other))).toBe(false);
    } finally {
      other.cleanup();
    }
  });
});

describe("servers started by bridges", () => {
  test("a stale runtime file (dead pid) is not an error: the bridge starts a new server", async () => {
    const iso = isolatedEnv(CONFIG);
    const dead = spawn("true");
    await new Promise((r) => dead.once("exit", r));
    mkdirSync(iso.env.ALPINE_KERNEL_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
    writeFileSync(
      runtimeFile(iso),
      JSON.stringify({
        url: "http://127.0.0.1:9",
        port: 9,
        token: "stale",
        pid: dead.pid,
        version: "0",
        started: "",
        backend: "local",
      }),
      { mode: 0o600 },
    );
    const { path, info } = await writeConnectionFile(iso.dir);
    const bridge = spawnBridge(iso, path);
    const client = new ZmqKernelClient(info);
    try {
      const reply = await client.waitForReady(30_000);
      expect(reply.content.status).toBe("ok");
      const fresh = readRuntime(iso)!;
      expect(fresh.pid).not.toBe(dead.pid);
      expect(pidAlive(fresh.pid)).toBe(true);
      expect(bridge.output()).not.toMatch(/Error|error:/);
    } finally {
      client.close();
      await bridge.stop();
      iso.cleanup();
    }
  });

  test("a runtime file naming a live process that is not a server is not an error either", async () => {
    const iso = isolatedEnv(CONFIG);
    mkdirSync(iso.env.ALPINE_KERNEL_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
    writeFileSync(
      runtimeFile(iso),
      JSON.stringify({
        url: "http://127.0.0.1:9",
        port: 9,
        token: "t",
        pid: process.pid,
        version: "0",
        started: "",
        backend: "local",
      }),
      { mode: 0o600 },
    );
    const { path, info } = await writeConnectionFile(iso.dir);
    const bridge = spawnBridge(iso, path);
    const client = new ZmqKernelClient(info);
    try {
      expect((await client.waitForReady(30_000)).content.status).toBe("ok");
      expect(readRuntime(iso)!.pid).not.toBe(process.pid);
    } finally {
      client.close();
      await bridge.stop();
      iso.cleanup();
    }
  });

  test("two bridges starting at once start ONE server", async () => {
    const iso = isolatedEnv(CONFIG);
    const a = await writeConnectionFile(iso.dir);
    const b = await writeConnectionFile(iso.dir);
    const bridges = [spawnBridge(iso, a.path), spawnBridge(iso, b.path)];
    const clients = [new ZmqKernelClient(a.info), new ZmqKernelClient(b.info)];
    try {
      await Promise.all(clients.map((c) => c.waitForReady(30_000)));
      const server = readRuntime(iso)!;
      expect(serverPidsIn(iso)).toEqual([server.pid]);
      const kernels = (await (
        await fetch(`${server.url}/api/kernels`, { headers: { Authorization: `token ${server.token}` } })
      ).json()) as unknown[];
      expect(kernels).toHaveLength(2);
      // Each bridge has its own kernel: a name set through one is not seen through the other.
      await clients[0]!.execute("only_in_a = 1");
      const { reply } = await clients[1]!.execute("only_in_a");
      expect(reply.content).toMatchObject({ status: "error", ename: "NameError" });
    } finally {
      clients.forEach((c) => c.close());
      await Promise.all(bridges.map((b) => b.stop()));
      iso.cleanup();
    }
  });

  test("the background server stays while a bridge is connected, and exits after server.idle_timeout_seconds without one", async () => {
    const iso = isolatedEnv(`${CONFIG}server:\n  idle_timeout_seconds: 2\n`);
    const { path, info } = await writeConnectionFile(iso.dir);
    const bridge = spawnBridge(iso, path);
    const client = new ZmqKernelClient(info);
    try {
      await client.waitForReady(30_000);
      const server = readRuntime(iso)!;
      expect(listeningAddresses(server.pid)).toEqual([`127.0.0.1:${server.port}`]);
      await new Promise((r) => setTimeout(r, 4500)); // more than twice the idle timeout, with a client
      expect(pidAlive(server.pid)).toBe(true);
      expect((await client.execute("1 + 1")).reply.content.status).toBe("ok");

      await bridge.stop();
      const t0 = Date.now();
      await waitFor("the idle server to exit", () => !pidAlive(server.pid) || undefined, 15_000);
      const waited = (Date.now() - t0) / 1000;
      expect(waited).toBeGreaterThanOrEqual(1.5);
      expect(waited).toBeLessThan(8);
      expect(existsSync(runtimeFile(iso))).toBe(false);
    } finally {
      client.close();
      await bridge.stop();
      iso.cleanup();
    }
  });
});
