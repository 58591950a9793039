/**
 * Hostile or oversized input through the real stack (jupyter_client's way in: a connection file,
 * the bridge, real ZeroMQ; and the server's WebSocket), issue 10:
 * - defect 8: a 200 MiB unsigned ZeroMQ frame from any local user raised the bridge's memory by
 *   200 MB for good; WebSocket frames up to 256 MiB were buffered; cell code had no size limit;
 * - defect 4: one history search (`*a*a*a*a*a*a*a*a*b`) froze the server, every kernel with it;
 * - defect 9: an #SBATCH line holding U+2028 was silently dropped.
 * The cell limit here is 1 MiB (server.max_cell_code_mib), so messages are limited to 7 MiB.
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import * as zmq from "zeromq";
import { kernelForThisFile, rssMib } from "../helpers/processes";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import { DELIMITER, streamText } from "../helpers/zmq-client";

jest.setTimeout(90_000);

const MIB = 1 << 20;
const kernel = kernelForThisFile(
  "backend: local\nenvironment:\n  python: /usr/bin/python3\nserver:\n  max_cell_code_mib: 1\n",
);

async function stillAnswers(): Promise<void> {
  const reply = await kernel.client.request("shell", "kernel_info_request", {});
  expect(reply.content.status).toBe("ok");
  expect(await kernel.client.heartbeat()).toBe(true);
}

describe("defect 8: sizes are bounded before anything is buffered", () => {
  test("a 200 MiB unsigned ZeroMQ frame costs the bridge nothing; the kernel keeps answering", async () => {
    const before = rssMib(kernel.bridge.pid);
    const intruder = new zmq.Dealer({ linger: 0, sendTimeout: 20_000 });
    intruder.connect(`tcp://${kernel.client.info.ip}:${kernel.client.info.shell_port}`);
    const big = Buffer.alloc(200 * MIB, 0x61);
    await intruder.send([DELIMITER, "not a signature", "{}", "{}", "{}", big]).catch(() => {});
    await new Promise((r) => setTimeout(r, 3000)); // time for it to arrive, were it let in
    intruder.close();
    const grown = rssMib(kernel.bridge.pid) - before;
    expect(grown).toBeLessThan(30); // before: +200
    await stillAnswers();
  });

  test("a cell over server.max_cell_code_mib gets a clear error; it is neither counted nor kept", async () => {
    const ok = await kernel.client.execute("x = 1");
    const count = ok.reply.content.execution_count;
    const big = `s = '${"y".repeat(2 * MIB)}'`;
    const { reply, iopub } = await kernel.client.execute(big);
    expect(reply.content).toMatchObject({ status: "error", ename: "CellTooLarge", execution_count: count });
    const error = iopub.find((m) => m.header.msg_type === "error");
    expect(error?.content.evalue).toBe(
      "this cell's code is 2.0 MiB, over the limit of 1 MiB (server.max_cell_code_mib): keep data out of the code — save it to a file and read the file in the cell",
    );
    expect(iopub.some((m) => m.header.msg_type === "execute_input")).toBe(false);
    const next = await kernel.client.execute("print(x + 1)");
    expect(next.reply.content.execution_count).toBe(Number(count) + 1);
    expect(streamText(next.iopub)).toBe("2\n");
    const history = await kernel.client.request("shell", "history_request", {
      hist_access_type: "tail",
      n: 10,
      output: false,
      raw: true,
    });
    expect(JSON.stringify(history.content.history)).not.toContain("yyyy");
  });

  test("a WebSocket frame over the limit closes that connection at once, says why, and costs nothing", async () => {
    const serverPid = kernel.server.pid;
    const kernelId = await startKernel(kernel.server);
    const ws = await WsKernelClient.open(kernel.server, kernelId, "v1");
    const before = rssMib(serverPid);
    await ws.sendRaw(Buffer.alloc(64 * MIB, 0x62), true).catch(() => {});
    await new Promise((r) => setTimeout(r, 1000));
    expect(ws.closedWith?.code).toBe(1009); // Message Too Big
    // Read and thrown away, the rest of the frame cost +15 to +53 MiB; not read at all, +0.3 MiB.
    expect(rssMib(serverPid) - before).toBeLessThan(8);
    const log = readFileSync(`${kernel.iso.env.ALPINE_KERNEL_DATA_DIR}/server.log`, "utf8");
    expect(log).toMatch(
      /a message over 7340032 bytes closed the connection \(cells are limited by server.max_cell_code_mib\)/,
    );
    // Other connections, and a new one, carry on.
    const again = await WsKernelClient.open(kernel.server, kernelId, "v1");
    again.close();
    await stillAnswers();
  });

  test("the jobs feed (which takes no messages) closes on a 32 MiB frame the same way", async () => {
    const serverPid = kernel.server.pid;
    const feed = new WebSocket(
      `${kernel.server.url.replace(/^http/, "ws")}/api/jobs/feed?token=${kernel.server.token}`,
    );
    const closed = new Promise<number>((resolve) => feed.once("close", (code) => resolve(code)));
    feed.on("error", () => {});
    await new Promise((resolve, reject) => {
      feed.once("open", resolve);
      feed.once("unexpected-response", (_req, r) => reject(new Error(`feed refused: ${r.statusCode}`)));
    });
    const before = rssMib(serverPid);
    feed.send(Buffer.alloc(32 * MIB, 0x63));
    expect(await closed).toBe(1009);
    expect(rssMib(serverPid) - before).toBeLessThan(8);
    await stillAnswers();
  });
});

test("defect 4: a history search that backtracked exponentially answers at once; kernels go on", async () => {
  await kernel.client.execute(`s = '${"a".repeat(100)}'`);
  const t0 = Date.now();
  const search = kernel.client.request("shell", "history_request", {
    hist_access_type: "search",
    pattern: "*a*a*a*a*a*a*a*a*b",
    output: false,
    raw: true,
  });
  const hb = await kernel.client.heartbeat(); // the bridge answers heartbeats itself; the server must answer the rest
  const reply = await search;
  expect(hb).toBe(true);
  expect(reply.content).toMatchObject({ status: "ok", history: [] });
  expect(Date.now() - t0).toBeLessThan(5000); // before: over 100 s for this pattern
  const found = await kernel.client.request("shell", "history_request", {
    hist_access_type: "search",
    pattern: "*a*a*a*a*a*a*a*a*'",
    output: false,
    raw: true,
  });
  expect((found.content.history as unknown[]).length).toBe(1);
});

test("defect 9: an #SBATCH line holding U+2028 is refused, naming the character; nothing runs", async () => {
  const { reply, iopub } = await kernel.client.execute("#SBATCH --mem=64G\u2028\nprint('ran')");
  expect(reply.content.status).toBe("error");
  expect(String(reply.content.evalue)).toMatch(
    /this #SBATCH line holds U\+2028 \(LINE SEPARATOR\) after `--mem=64G`/,
  );
  expect(streamText(iopub)).toBe("");
});
