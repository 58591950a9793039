/**
 * The server can die at any moment without the notebook noticing more than a pause: the kernel
 * bridge reconnects (starting a new server), the new server reads the ledger, re-attaches the cell
 * in flight from its saved byte offsets, and the notebook client receives every line exactly once,
 * in order, then the execute_reply; the namespace survives.
 */
import { isolatedEnv, type IsolatedEnv } from "../helpers/env";
import {
  pidAlive,
  readRuntime,
  waitFor,
  waitForServer,
  type Spawned,
  launchKernel,
} from "../helpers/processes";
import { streamText, ZmqKernelClient } from "../helpers/zmq-client";

jest.setTimeout(60_000);

let iso: IsolatedEnv;
let bridge: Spawned;
let client: ZmqKernelClient;

beforeAll(async () => {
  iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
  ({ bridge, client } = await launchKernel(iso));
  const { reply } = await client.execute("x = 41");
  expect(reply.content.status).toBe("ok");
});

afterAll(async () => {
  client?.close();
  await bridge?.stop();
  iso?.cleanup();
});

/** Kills the current server and returns its pid. */
async function killServer(signal: NodeJS.Signals): Promise<number> {
  const server = await waitForServer(iso);
  process.kill(server.pid, signal);
  await waitFor(`server ${server.pid} to die`, () => !pidAlive(server.pid) || undefined, 10_000);
  return server.pid;
}

test("SIGKILL of the server mid-cell: every line exactly once, in order, then the reply; the namespace survives", async () => {
  const N = 20;
  const code = `import time\nfor i in range(${N}):\n    print(f'line {i}', flush=True)\n    time.sleep(0.3)\nx += 1`;
  const msgId = await client.startExecute(code);
  const lines = () => streamText(client.iopubFor(msgId), "stdout");
  await waitFor(
    "a few lines before the kill",
    () => (lines().split("\n").length > 5 ? true : undefined),
    15_000,
  );
  const seenBeforeKill = lines();
  const oldPid = await killServer("SIGKILL");

  const { reply, iopub } = await client.finishExecute(msgId, { timeoutMs: 40_000 });
  const expected = Array.from({ length: N }, (_, i) => `line ${i}\n`).join("");
  const got = streamText(iopub, "stdout");
  // Tell lost from repeated lines in the failure message.
  if (got !== expected) {
    const all = got.split("\n").filter(Boolean);
    throw new Error(
      `lines differ: got ${all.length} (${JSON.stringify(all)}); before the kill: ${JSON.stringify(seenBeforeKill)}\n${bridge.output()}`,
    );
  }
  expect(reply.content).toMatchObject({ status: "ok", execution_count: 2 });
  expect(streamText(iopub, "stderr")).toBe("");
  expect(iopub.filter((m) => m.header.msg_type === "error")).toEqual([]);
  // The new server was started by the bridge; the old one is gone for good.
  const now = readRuntime(iso)!;
  expect(now.pid).not.toBe(oldPid);
  expect(bridge.output()).toMatch(/connection to the server closed; reconnecting/);
  expect(bridge.output()).not.toMatch(/namespace is lost|opening a new one/);

  const after = await client.execute("print(x + 1)");
  expect(after.reply.content).toMatchObject({ status: "ok", execution_count: 3 });
  expect(streamText(after.iopub)).toBe("43\n");
  expect(client.badlySigned).toEqual([]);
});

test.each(["SIGKILL", "SIGTERM"] as const)(
  "server restarted (%s) while idle: the next execute works, namespace intact",
  async (signal) => {
    const before = await client.execute("y = x * 2");
    expect(before.reply.content.status).toBe("ok");
    const count = before.reply.content.execution_count as number;
    await killServer(signal);
    const { reply, iopub } = await client.execute("print(x, y)", { timeoutMs: 30_000 });
    expect(reply.content).toMatchObject({ status: "ok", execution_count: count + 1 });
    expect(streamText(iopub)).toBe("42 84\n");
    expect(await client.heartbeat()).toBe(true);
  },
);

test("a request sent while no server runs waits in the bridge and is answered once a server is back", async () => {
  await killServer("SIGKILL");
  // Straight away: the bridge may not even have noticed yet.
  const reply = await client.request("shell", "kernel_info_request", {}, 30_000);
  expect(reply.content.status).toBe("ok");
  const { iopub } = await client.execute("print('back')", { timeoutMs: 30_000 });
  expect(streamText(iopub)).toBe("back\n");
});
