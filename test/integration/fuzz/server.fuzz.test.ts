/**
 * Fuzzing the running server and kernel bridge from outside (issue 10, "fuzzers in the suite"): REST
 * bodies, WebSocket frames in both framings, ZeroMQ frames (unsigned, and signed with any JSON).
 * None may crash the server or the bridge or hang the kernel: REST answers stay under 500 with a
 * message, and after every batch the kernel still answers and, at the end, still runs a cell.
 * Fixed seed, bounded count (FUZZ_RUNS; see test/helpers/fuzz.ts for a longer run).
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { isolatedEnv, type IsolatedEnv } from "../../helpers/env";
import { FUZZ_SLOW } from "../../helpers/fuzz";
import { launchKernel, waitForServer, type RuntimeInfo, type Spawned } from "../../helpers/processes";
import { auth, encodeV1, startKernel, WsKernelClient, type Framing } from "../../helpers/ws-client";
import { DELIMITER, streamText, ZmqKernelClient } from "../../helpers/zmq-client";

jest.setTimeout(180_000);

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

async function kernelAnswers(): Promise<void> {
  const reply = await client.request("shell", "kernel_info_request", {});
  expect(reply.content.status).toBe("ok");
  expect(bridge.alive()).toBe(true);
}

const REQUESTS = [
  "execute_request",
  "complete_request",
  "inspect_request",
  "history_request",
  "is_complete_request",
  "kernel_info_request",
  "comm_info_request",
  "input_reply",
  "comm_open",
  "comm_msg",
];
const header = fc.record(
  {
    msg_id: fc.oneof(fc.uuid(), fc.string()),
    session: fc.string(),
    username: fc.string(),
    date: fc.string(),
    msg_type: fc.oneof(fc.constantFrom(...REQUESTS), fc.string()),
    version: fc.constant("5.3"),
  },
  { requiredKeys: ["msg_type"] },
);
/** Content that may be anything, or nearly right for its request (but no code that runs for long). */
const content = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      code: fc.oneof(
        fc.constantFrom("1", "x", "print(", "%squeue", "%%slurm --mem", "#SBATCH -p"),
        fc.string(),
        fc.integer(),
      ),
      cursor_pos: fc.oneof(fc.integer(), fc.string()),
      silent: fc.boolean(),
      store_history: fc.boolean(),
      hist_access_type: fc.constantFrom("tail", "range", "search", "x"),
      pattern: fc.string(),
      n: fc.oneof(fc.integer({ min: -5, max: 50 }), fc.string()),
      start: fc.integer(),
      stop: fc.integer(),
      value: fc.string(),
    },
    { requiredKeys: [] },
  ),
);

describe("REST bodies", () => {
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          name: fc.oneof(fc.constant("alpine"), fc.jsonValue()),
          path: fc.jsonValue(),
          env: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    fc.string(),
  );
  const route = fc.oneof(
    fc.constant(["POST", "/api/kernels"] as const),
    fc.string().map((id) => ["POST", `/api/connection/prompts/${encodeURIComponent(id)}`] as const),
    fc.string().map((id) => ["POST", `/api/kernels/${encodeURIComponent(id)}/interrupt`] as const),
    fc.string().map((id) => ["GET", `/api/kernels/${encodeURIComponent(id)}`] as const),
    fc.string().map((id) => ["DELETE", `/api/kernels/${encodeURIComponent(id)}`] as const),
    fc.constant(["POST", "/api/connection/login"] as const),
  );
  const contentType = fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded");

  test("never a 5xx, always a JSON message on refusal; kernels made here are shut down", async () => {
    const made: string[] = [];
    await fc.assert(
      fc.asyncProperty(route, body, contentType, async ([method, path], text, type) => {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: { ...auth(server), "Content-Type": type },
          ...(method === "POST" ? { body: text } : {}),
        });
        expect([path, res.status < 500]).toEqual([path, true]);
        const answer =
          res.status === 204 ? undefined : ((await res.json()) as { message?: string; id?: string });
        if (res.status >= 400) expect(typeof answer?.message).toBe("string");
        if (res.status === 201 && answer?.id) made.push(answer.id);
      }),
      { ...FUZZ_SLOW, numRuns: FUZZ_SLOW.numRuns! * 5 },
    );
    for (const id of made)
      await fetch(`${server.url}/api/kernels/${id}`, { method: "DELETE", headers: auth(server) });
    await kernelAnswers();
  });
});

describe.each<Framing>(["v1", "legacy"])("WebSocket frames (%s framing)", (framing) => {
  let ws: WsKernelClient;
  beforeAll(async () => {
    ws = await WsKernelClient.open(server, await startKernel(server), framing);
  });
  afterAll(() => ws?.close());

  test("random bytes, any JSON, spoiled v1 offsets: the connection and the kernel carry on", async () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((u) => ({ data: Buffer.from(u), binary: true })),
      fc.string({ maxLength: 300 }).map((s) => ({ data: Buffer.from(s), binary: false })),
      fc
        .tuple(fc.constantFrom("shell", "control", "stdin", "iopub", "x"), header, content)
        .map(([ch, h, c]) =>
          framing === "v1"
            ? { data: encodeV1(ch, [h, {}, {}, c]), binary: true }
            : {
                data: Buffer.from(
                  JSON.stringify({ channel: ch, header: h, parent_header: {}, metadata: {}, content: c }),
                ),
                binary: false,
              },
        ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 10 }), async (frames) => {
        for (const f of frames) await ws.sendRaw(f.data, f.binary);
        expect(ws.open).toBe(true);
        await kernelAnswers();
      }),
      FUZZ_SLOW,
    );
    // Still a working kernel on this connection too.
    const { msgId, data } = ws.message("shell", "kernel_info_request", {});
    await ws.sendRaw(data, framing === "v1");
    const deadline = Date.now() + 20_000;
    while (
      !ws.received.some((m) => m.parent_header.msg_id === msgId && m.header.msg_type === "kernel_info_reply")
    ) {
      if (Date.now() > deadline) throw new Error("no kernel_info_reply after the fuzzing");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe("ZeroMQ frames to the bridge", () => {
  const sign = (parts: Buffer[]) => {
    const h = createHmac("sha256", client.info.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  };
  test("unsigned garbage and signed messages of any JSON: the kernel keeps answering, then runs a cell", async () => {
    const message = fc.oneof(
      fc.array(
        fc.uint8Array({ maxLength: 100 }).map((u) => Buffer.from(u)),
        { maxLength: 8 },
      ),
      fc.tuple(header, fc.jsonValue({ maxDepth: 2 }), content).map(([h, m, c]) => {
        const parts = [h, {}, m, c].map((v) => Buffer.from(JSON.stringify(v) ?? "null"));
        return [Buffer.from(DELIMITER), Buffer.from(sign(parts)), ...parts];
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("shell", "control", "stdin") as fc.Arbitrary<"shell" | "control" | "stdin">,
        fc.array(message, { minLength: 1, maxLength: 10 }),
        async (channel, messages) => {
          for (const m of messages) await client.sendFrames(channel, m);
          await kernelAnswers();
        },
      ),
      FUZZ_SLOW,
    );
    // Fuzzed execute_requests that failed abort what waits behind them (stop_on_error): try until ours runs.
    let result = await client.execute("print('still here')", { timeoutMs: 60_000 });
    for (let i = 0; i < 20 && result.reply.content.status === "aborted"; i++)
      result = await client.execute("print('still here')", { timeoutMs: 60_000 });
    const { reply, iopub } = result;
    expect(reply.content.status).toBe("ok");
    expect(streamText(iopub)).toContain("still here");
    expect(client.badlySigned).toEqual([]);
  });
});
