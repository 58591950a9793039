/**
 * Fuzzing the running server and kernel bridge from outside (issue 10, "fuzzers in the suite"): REST
 * bodies, WebSocket frames in both framings, ZeroMQ frames (unsigned, and signed with any JSON).
 * None may crash the server or the bridge or hang the kernel: REST answers stay under 500 with a
 * message, and after every batch the kernel still answers and, at the end, still runs a cell.
 * Fixed seed, bounded count (FUZZ_RUNS; see test/helpers/fuzz.ts for a longer run).
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { FUZZ_SLOW } from "../../helpers/fuzz";
import { ANSWERED_REQUESTS, messageParts } from "../../helpers/fuzz-messages";
import { kernelForThisFile } from "../../helpers/processes";
import { auth, encodeV1, startKernel, WsKernelClient, type Framing } from "../../helpers/ws-client";
import { DELIMITER, streamText } from "../../helpers/zmq-client";

jest.setTimeout(180_000);

const kernel = kernelForThisFile("backend: local\nenvironment:\n  python: /usr/bin/python3\n");

async function kernelAnswers(): Promise<void> {
  const reply = await kernel.client.request("shell", "kernel_info_request", {});
  expect(reply.content.status).toBe("ok");
  expect(kernel.bridge.alive()).toBe(true);
}

// Not shutdown_request or interrupt_request: the kernel must live through the whole run.
const { header, content } = messageParts([...ANSWERED_REQUESTS, "comm_open", "comm_msg"]);

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
        const res = await fetch(`${kernel.server.url}${path}`, {
          method,
          headers: { ...auth(kernel.server), "Content-Type": type },
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
      await fetch(`${kernel.server.url}/api/kernels/${id}`, {
        method: "DELETE",
        headers: auth(kernel.server),
      });
    await kernelAnswers();
  });
});

describe.each<Framing>(["v1", "legacy"])("WebSocket frames (%s framing)", (framing) => {
  let ws: WsKernelClient;
  beforeAll(async () => {
    ws = await WsKernelClient.open(kernel.server, await startKernel(kernel.server), framing);
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
    const h = createHmac("sha256", kernel.client.info.key);
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
          for (const m of messages) await kernel.client.sendFrames(channel, m);
          await kernelAnswers();
        },
      ),
      FUZZ_SLOW,
    );
    // Fuzzed execute_requests that failed abort what waits behind them (stop_on_error): try until ours runs.
    let result = await kernel.client.execute("print('still here')", { timeoutMs: 60_000 });
    for (let i = 0; i < 20 && result.reply.content.status === "aborted"; i++)
      result = await kernel.client.execute("print('still here')", { timeoutMs: 60_000 });
    const { reply, iopub } = result;
    expect(reply.content.status).toBe("ok");
    expect(streamText(iopub)).toContain("still here");
    expect(kernel.client.badlySigned).toEqual([]);
  });
});
