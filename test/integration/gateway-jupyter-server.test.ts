/**
 * Gateway mode with jupyter_server 2 (what JupyterLab 4 runs on): `jupyter server --gateway-url`
 * pointed at `alpine-kernel serve`, driven by @jupyterlab/services as JupyterLab's frontend drives
 * it. The gateway client sends its token in a header, no Origin, and the Host of the gateway URL:
 * the Origin/Host/token rules (issue 10, defect 7) must let it through, under both names of this
 * machine, and refuse it a wrong token.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { KernelManager, KernelMessage, ServerConnection } from "@jupyterlab/services";
import WebSocket from "ws";
import { isolatedEnv, type IsolatedEnv } from "../helpers/env";
import { jupyterServerVenv } from "../helpers/jupyter-server-venv";
import {
  freePorts,
  spawnServer,
  waitFor,
  waitForServer,
  type RuntimeInfo,
  type Spawned,
} from "../helpers/processes";

jest.setTimeout(120_000);

let iso: IsolatedEnv;
let ours: Spawned;
let server: RuntimeInfo;
const gateways: ChildProcess[] = [];

beforeAll(async () => {
  jest.spyOn(console, "debug").mockImplementation(() => {});
  iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
  ours = spawnServer(iso);
  server = await waitForServer(iso);
});
afterAll(async () => {
  for (const g of gateways) g.kill("SIGTERM");
  await ours?.stop();
  iso?.cleanup();
  jest.restoreAllMocks();
});

/** `jupyter server --gateway-url=URL`; resolves with its base URL and token once it answers. */
async function startGateway(
  gatewayUrl: string,
  authToken: string,
): Promise<{ url: string; token: string; log: () => string }> {
  const jupyter = jupyterServerVenv();
  const [port] = await freePorts(1);
  const token = randomBytes(16).toString("hex");
  let out = "";
  const proc = spawn(
    jupyter,
    [
      "server",
      "--no-browser",
      "--allow-root",
      `--port=${port}`,
      "--port-retries=0",
      "--ip=127.0.0.1",
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${iso.dir}`,
      `--gateway-url=${gatewayUrl}`,
      `--GatewayClient.auth_token=${authToken}`,
      "--GatewayClient.request_timeout=60",
    ],
    { env: iso.env, stdio: ["ignore", "pipe", "pipe"] },
  );
  gateways.push(proc);
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "jupyter server to answer",
    async () => {
      if (proc.exitCode !== null) throw new Error(`jupyter server exited: ${out}`);
      const res = await fetch(`${url}/api/status`, {
        headers: { Authorization: `token ${token}` },
      }).catch(() => undefined);
      return res ? true : undefined; // with a refused gateway token it answers 403
    },
    60_000,
    250,
  );
  return { url, token, log: () => out };
}

async function runCell(url: string, token: string, code: string): Promise<string> {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: url,
    wsUrl: url.replace("http", "ws"),
    token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const manager = new KernelManager({ serverSettings });
  try {
    const kernel = await manager.startNew({ name: "alpine" });
    let text = "";
    const future = kernel.requestExecute({ code });
    future.onIOPub = (msg) => {
      if (KernelMessage.isStreamMsg(msg)) text += msg.content.text;
    };
    await future.done;
    await kernel.shutdown();
    return text;
  } finally {
    await manager["_pollModels"]?.stop();
    manager.dispose();
  }
}

test.each(["127.0.0.1", "localhost"])(
  "JupyterLab's server in gateway mode (gateway URL on %s) runs cells on alpine-kernel",
  async (host) => {
    const gw = await startGateway(server.url.replace("127.0.0.1", host), server.token);
    expect(await runCell(gw.url, gw.token, "print(6 * 7)")).toBe("42\n");
  },
);

test("a gateway with a wrong token is refused, and says so", async () => {
  const gw = await startGateway(server.url, "0".repeat(48));
  await expect(runCell(gw.url, gw.token, "print(1)")).rejects.toThrow();
  expect(ours.output()).toMatch(/request refused: Forbidden: this server needs its token/);
  // ...and jupyter server's own log carries our reason to the person reading it.
  expect(gw.log()).toMatch(/Error from Gateway: \[Forbidden: this server needs its token/);
});
