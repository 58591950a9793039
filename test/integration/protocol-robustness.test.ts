/**
 * Bad input never takes the kernel down. The bridge is launched as jupyter_client launches it (a
 * connection file, JPY_PARENT_PID) and driven with real zeromq sockets: after every malformed
 * message on shell, control or stdin, a valid kernel_info_request still gets its reply and the
 * heartbeat still echoes. The same on the server's WebSocket, in both framings. And the bridge goes
 * away with its parent.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { isolatedEnv, type IsolatedEnv } from "../helpers/env";
import {
  pidAlive,
  spawnBridge,
  waitFor,
  waitForServer,
  writeConnectionFile,
  type RuntimeInfo,
  type Spawned,
  launchKernel,
} from "../helpers/processes";
import { encodeV1, startKernel, WsKernelClient, type Framing } from "../helpers/ws-client";
import { DELIMITER, streamText, ZmqKernelClient } from "../helpers/zmq-client";

jest.setTimeout(60_000);

let iso: IsolatedEnv;
let bridge: Spawned;
let client: ZmqKernelClient;
let server: RuntimeInfo;

beforeAll(async () => {
  iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
  ({ bridge, client } = await launchKernel(iso));
  server = await waitForServer(iso);
});

afterAll(async () => {
  client?.close();
  await bridge?.stop();
  iso?.cleanup();
});

const hmac = (key: string, parts: Buffer[]) => {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest("hex");
};
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const header = (msg_type: string, msg_id = `bad-${Math.random()}`) => ({
  msg_id,
  session: "s",
  username: "u",
  date: "",
  msg_type,
  version: "5.3",
});

/** Malformed messages (frames after the DEALER's routing id). */
function badMessages(): [string, (Buffer | string)[]][] {
  const key = client.info.key;
  const ok = (msgType: string, content: unknown = {}) => {
    const parts = [json(header(msgType)), json({}), json({}), json(content)];
    return [DELIMITER, hmac(key, parts), ...parts];
  };
  const kernelInfo = ok("kernel_info_request");
  const garbageJson = [json(header("kernel_info_request")), Buffer.from("{not json"), json({}), json({})];
  return [
    ["a bad HMAC", [DELIMITER, "0".repeat(64), ...kernelInfo.slice(2)]],
    [
      "an HMAC made with another key",
      [DELIMITER, hmac("not the key", kernelInfo.slice(2) as Buffer[]), ...kernelInfo.slice(2)],
    ],
    ["no signature at all", [DELIMITER, "", ...kernelInfo.slice(2)]],
    ["truncated frames (header only)", kernelInfo.slice(0, 3)],
    ["only the delimiter", [DELIMITER]],
    ["no delimiter", kernelInfo.slice(1)],
    ["a single empty frame", [""]],
    ["garbage JSON (correctly signed)", [DELIMITER, hmac(key, garbageJson), ...garbageJson]],
    ["binary garbage", [Buffer.from([0xff, 0x00, 0xfe, 0x01]), Buffer.alloc(1000, 0xaa)]],
    ["an unknown msg_type", ok("frobnicate_request", { x: 1 })],
    ["a reply type sent as a request", ok("kernel_info_reply", {})],
    [
      "a comm_open for a target nobody has",
      ok("comm_open", { comm_id: "c1", target_name: "nope", data: {} }),
    ],
  ];
}

async function stillAnswers(channel: "shell" | "control"): Promise<void> {
  // The first message back on this socket must be the reply to the valid request: nothing for the bad one.
  const id = await client.send(channel, "kernel_info_request", {});
  const next = await client.next(channel, 10_000);
  expect(next.header.msg_type).toBe("kernel_info_reply");
  expect(next.parent_header.msg_id).toBe(id);
  expect(next.content.status).toBe("ok");
}

describe("ZeroMQ: malformed messages are dropped, the kernel keeps answering", () => {
  for (const channel of ["shell", "control", "stdin"] as const) {
    test(`on ${channel}`, async () => {
      for (const [name, frames] of badMessages()) {
        await client.sendFrames(channel, frames);
        const answerOn = channel === "stdin" ? "shell" : channel;
        await stillAnswers(answerOn).catch((err: Error) => {
          throw new Error(`after ${name} on ${channel}: ${err.message}`);
        });
      }
      expect(client.pending(channel)).toEqual([]);
      expect(await client.heartbeat()).toBe(true);
      expect(client.badlySigned).toEqual([]);
    });
  }

  test.each([
    [
      "complete_request",
      { code: "x", cursor_pos: "x" },
      "shell",
      /content\.cursor_pos must be a non-negative integer/,
    ],
    ["inspect_request", { code: 5 }, "shell", /content\.code must be a string/],
    ["execute_request", { code: ["print(1)"] }, "shell", /content\.code must be a string/],
    [
      "history_request",
      { hist_access_type: "everything" },
      "shell",
      /hist_access_type must be range, tail or search/,
    ],
    ["is_complete_request", {}, "control", /content\.code must be a string/],
    ["shutdown_request", { restart: "please" }, "control", /content\.restart must be true or false/],
  ] as const)(
    "%s with malformed content %j gets an error reply on %s",
    async (type, content, channel, message) => {
      const reply = await client.request(channel, type, content);
      expect(reply.header.msg_type).toBe(type.replace("_request", "_reply"));
      expect(reply.content).toMatchObject({ status: "error", ename: "ProtocolError" });
      expect(String(reply.content.evalue)).toMatch(message);
      await stillAnswers("shell");
    },
  );

  test("an input_reply nobody asked for is ignored", async () => {
    await client.send("stdin", "input_reply", { value: "surprise" }, header("input_request", "never-sent"));
    await stillAnswers("shell");
  });

  test("after all that, cells still run and the heartbeat still echoes", async () => {
    const { reply, iopub } = await client.execute("print('still alive')");
    expect(reply.content.status).toBe("ok");
    expect(streamText(iopub)).toBe("still alive\n");
    expect(await client.heartbeat()).toBe(true);
    expect(bridge.alive()).toBe(true);
    expect(bridge.output()).toMatch(/dropped a bad message on shell: invalid HMAC signature/);
    expect(bridge.output()).toMatch(/dropped a bad message on control: missing <IDS\|MSG> delimiter/);
    expect(bridge.output()).toMatch(/dropped a bad message on stdin: truncated message/);
  });
});

describe("the server's WebSocket: garbage frames are dropped, the connection stays", () => {
  const header = (t: string) => ({
    msg_id: `g-${Math.random()}`,
    session: "s",
    username: "u",
    date: "",
    msg_type: t,
    version: "5.3",
  });
  const v1Truncated = encodeV1("shell", [header("kernel_info_request"), {}, {}, {}]).subarray(0, 30);
  const v1BadJson = Buffer.concat([
    encodeV1("shell", [header("kernel_info_request"), {}, {}, {}]).subarray(0, 64 + 5),
    Buffer.from("{{{{{"),
  ]);
  const garbage: Record<Framing, [string, Buffer | string, boolean][]> = {
    v1: [
      ["an empty binary frame", Buffer.alloc(0), true],
      ["seven bytes", Buffer.from([1, 2, 3, 4, 5, 6, 7]), true],
      ["a truncated v1 frame", v1Truncated, true],
      ["a v1 frame with bad JSON", v1BadJson, true],
      [
        "an offset count of 2^40",
        Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]), Buffer.alloc(64)]),
        true,
      ],
      [
        "offsets out of range",
        encodeV1("shell", [header("kernel_info_request"), {}, {}, {}]).fill(0xff, 8, 16),
        true,
      ],
      ["an unknown channel", encodeV1("nosuch", [header("kernel_info_request"), {}, {}, {}]), true],
      [
        "a message on iopub",
        encodeV1("iopub", [header("stream"), {}, {}, { name: "stdout", text: "x" }]),
        true,
      ],
      ["text that is not JSON", "hello?", false],
      ["an unknown msg_type", encodeV1("shell", [header("frobnicate_request"), {}, {}, {}]), true],
    ],
    legacy: [
      ["text that is not JSON", "{oops", false],
      ["a JSON array", "[1,2,3]", false],
      ["JSON null", "null", false],
      ["no header", JSON.stringify({ channel: "shell", content: {} }), false],
      ["no channel", JSON.stringify({ header: header("kernel_info_request"), content: {} }), false],
      [
        "content a string",
        JSON.stringify({ channel: "shell", header: header("kernel_info_request"), content: "x" }),
        false,
      ],
      ["a binary frame", encodeV1("shell", [header("kernel_info_request"), {}, {}, {}]), true],
      [
        "an unknown msg_type",
        JSON.stringify({ channel: "shell", header: header("frobnicate_request"), content: {} }),
        false,
      ],
    ],
  };

  for (const framing of ["v1", "legacy"] as const) {
    test(`${framing} framing`, async () => {
      const kernelId = await startKernel(server);
      const ws = await WsKernelClient.open(server, kernelId, framing);
      try {
        expect((await ws.request("kernel_info_request")).content.status).toBe("ok");
        for (const [name, data, binary] of garbage[framing]) {
          await ws.sendRaw(data, binary);
          const reply = await ws.request("kernel_info_request").catch((err: Error) => {
            throw new Error(`after ${name}: ${err.message}`);
          });
          expect(reply.header.msg_type).toBe("kernel_info_reply");
          expect(ws.open).toBe(true);
        }
        // Nothing but kernel_info replies came back on shell: no stray replies to garbage.
        expect(ws.received.filter((m) => m.channel !== "iopub").map((m) => m.header.msg_type)).toEqual(
          Array(garbage[framing].length + 1).fill("kernel_info_reply"),
        );
        expect(ws.undecodable).toEqual([]);

        const bad = await ws.request("complete_request", { code: "x", cursor_pos: "x" });
        expect(bad.content).toMatchObject({
          status: "error",
          evalue: "content.cursor_pos must be a non-negative integer",
        });

        const { reply, iopub } = await ws.execute("print(6 * 7)");
        expect(reply.content.status).toBe("ok");
        expect(streamText(iopub)).toBe("42\n");
        expect(ws.open).toBe(true);
      } finally {
        ws.close();
        await fetch(`${server.url}/api/kernels/${kernelId}`, {
          method: "DELETE",
          headers: { Authorization: `token ${server.token}` },
        });
      }
    });
  }

  test("the ZeroMQ side is unaffected by garbage on the WebSocket", async () => {
    expect((await client.request("shell", "kernel_info_request")).content.status).toBe("ok");
    expect(await client.heartbeat()).toBe(true);
  });
});

describe("parent process", () => {
  test("the bridge exits when its JPY_PARENT_PID dies", async () => {
    const parent = spawn("sleep", ["120"], { stdio: "ignore" });
    const { path, info } = await writeConnectionFile(iso.dir);
    const child = spawnBridge(iso, path, parent.pid!);
    const c = new ZmqKernelClient(info);
    try {
      await c.waitForReady(20_000);
      parent.kill("SIGKILL");
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const { code } = await Promise.race([
        child.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`bridge still running 5 s after its parent died:\n${child.output()}`)),
            5000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(child.output()).toMatch(/parent process \d+ is gone: exiting/);
      // The server it was using is shared: it keeps running for the other bridge.
      expect(pidAlive(server.pid)).toBe(true);
      await waitFor(
        "the first bridge to keep answering",
        async () => (await client.heartbeat()) || undefined,
        5000,
      );
    } finally {
      c.close();
      parent.kill("SIGKILL");
      await child.stop();
    }
  });
});
