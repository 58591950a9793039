/**
 * JupyterLab's own client library, @jupyterlab/services 7.6.6, against `alpine-kernel serve`
 * started in this process: kernelspecs, start, execute with iopub streaming, the v1 WebSocket
 * subprotocol, interrupt (KeyboardInterrupt in a sleeping cell), restart (fresh namespace) and
 * shutdown, as JupyterLab drives a kernel.
 */
import { join } from "node:path";
import {
  KernelAPI,
  KernelManager,
  KernelMessage,
  KernelSpecAPI,
  ServerConnection,
  type Kernel,
} from "@jupyterlab/services";
import WebSocket from "ws";
import { parseConfig } from "../../src/config/config";
import { createLogger } from "../../src/server/logger";
import { startServer, type RunningServer } from "../../src/server/serve";
import { DEBIAN_PYTHON, isolatedEnv, requireProgram, useInProcess, type IsolatedEnv } from "../helpers/env";

const V1 = "v1.kernel.websocket.jupyter.org";

/** Every WebSocket services opens, with the subprotocol the server picked and the frame kinds seen. */
const sockets: { protocol: () => string; binaryFrames: number; textFrames: number }[] = [];
class RecordingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    const rec = { protocol: () => this.protocol, binaryFrames: 0, textFrames: 0 };
    sockets.push(rec);
    this.on("message", (_data, isBinary) => (isBinary ? rec.binaryFrames++ : rec.textFrames++));
  }
}

interface Seen {
  t: number;
  msg: KernelMessage.IIOPubMessage;
}

/** Runs code; resolves with the reply and every iopub message of the request, with arrival times. */
async function execute(kernel: Kernel.IKernelConnection, code: string, onIOPub?: (s: Seen) => void) {
  const t0 = Date.now();
  const iopub: Seen[] = [];
  const future = kernel.requestExecute({ code });
  future.onIOPub = (msg) => {
    const s = { t: (Date.now() - t0) / 1000, msg };
    iopub.push(s);
    onIOPub?.(s);
  };
  const reply = await future.done;
  future.dispose();
  return { reply: reply.content, iopub };
}

const streams = (iopub: Seen[]) =>
  iopub.filter((s) => KernelMessage.isStreamMsg(s.msg)) as { t: number; msg: KernelMessage.IStreamMsg }[];
const stdoutOf = (iopub: Seen[]) =>
  streams(iopub)
    .filter((s) => s.msg.content.name === "stdout")
    .map((s) => s.msg.content.text)
    .join("");

describe("@jupyterlab/services against alpine-kernel serve", () => {
  let iso: IsolatedEnv;
  let restoreEnv: () => void;
  let server: RunningServer;
  let settings: ServerConnection.ISettings;
  let manager: KernelManager;
  let kernel: Kernel.IKernelConnection;

  beforeAll(async () => {
    // services logs every socket and status change at debug level; warnings still show.
    jest.spyOn(console, "debug").mockImplementation(() => {});
    requireProgram(DEBIAN_PYTHON, "Debian's python3 runs the cells");
    iso = isolatedEnv();
    restoreEnv = useInProcess(iso);
    const config = parseConfig(
      `backend: local\nwork_dir: ${JSON.stringify(join(iso.dir, "sessions"))}\nenvironment:\n  python: /usr/bin/python3\n`,
      "(jupyterlab-services test)",
    );
    server = await startServer({
      config,
      log: createLogger(join(iso.dir, "server.log"), "debug"),
      ledgerPath: join(iso.dir, "ledger.jsonl"),
    });
    settings = ServerConnection.makeSettings({
      baseUrl: server.url,
      token: server.token,
      WebSocket: RecordingWebSocket as unknown as typeof globalThis.WebSocket,
    });
    manager = new KernelManager({ serverSettings: settings });
    await manager.ready;
  });

  afterAll(async () => {
    kernel?.dispose();
    // Lumino's Poll.dispose() leaves its pending 10 s timer behind (jest then waits for it);
    // stopping the manager's model poll first clears it.
    await manager?.["_pollModels"]?.stop();
    manager?.dispose();
    await server?.close();
    restoreEnv?.();
    iso?.cleanup();
    jest.restoreAllMocks();
  });

  test("kernelspecs list Python (Alpine) as the default", async () => {
    const specs = await KernelSpecAPI.getSpecs(settings);
    expect(specs.default).toBe("alpine");
    expect(specs.kernelspecs.alpine).toMatchObject({
      name: "alpine",
      display_name: "Python (Alpine)",
      language: "python",
    });
  });

  test("startNew connects over the v1 subprotocol and answers kernel_info", async () => {
    kernel = await manager.startNew({ name: "alpine" });
    const info = await kernel.info;
    expect(info.implementation).toBe("alpine-kernel");
    expect(info.language_info.name).toBe("python");
    expect(kernel.connectionStatus).toBe("connected");
    expect(sockets.length).toBeGreaterThanOrEqual(1);
    const ws = sockets[sockets.length - 1]!;
    expect(ws.protocol()).toBe(V1);
    // v1 framing is binary; a legacy (JSON) server would have sent text frames.
    expect(ws.binaryFrames).toBeGreaterThan(0);
    expect(ws.textFrames).toBe(0);
    const running = await KernelAPI.listRunning(settings);
    expect(running.map((k) => k.id)).toEqual([kernel.id]);
  });

  test("output streams in, in order, while the cell runs; state carries to the next cell", async () => {
    const code =
      "import time\nfor i in range(5):\n    print('step', i, flush=True)\n    time.sleep(0.3)\ndone = i + 1";
    const { reply, iopub } = await execute(kernel, code);
    expect(reply.status).toBe("ok");
    expect(stdoutOf(iopub)).toBe("step 0\nstep 1\nstep 2\nstep 3\nstep 4\n");
    const steps = streams(iopub).filter((s) => s.msg.content.text.includes("step"));
    expect(steps.length).toBeGreaterThanOrEqual(3);
    // Arrival times: spread over the cell's run (5 × 0.3 s), not delivered in one batch at the end.
    expect(steps[steps.length - 1]!.t - steps[0]!.t).toBeGreaterThan(0.8);
    const types = iopub.map((s) => s.msg.header.msg_type);
    expect(types[0]).toBe("status");
    expect(types[1]).toBe("execute_input");
    expect(types[types.length - 1]).toBe("status");

    const next = await execute(kernel, "done * 10");
    const result = next.iopub.find((s) => KernelMessage.isExecuteResultMsg(s.msg))?.msg as
      KernelMessage.IExecuteResultMsg | undefined;
    expect(result?.content.data["text/plain"]).toBe("50");
  });

  test("interrupt stops a sleeping cell with KeyboardInterrupt", async () => {
    let sawSleeping!: () => void;
    const sleeping = new Promise<void>((r) => (sawSleeping = r));
    const t0 = Date.now();
    // Interrupt once the whole line is out: a SIGINT inside print() would cut it short.
    let printed = "";
    const run = execute(
      kernel,
      "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nprint('woke up')",
      (s) => {
        if (KernelMessage.isStreamMsg(s.msg)) printed += s.msg.content.text;
        if (printed.includes("sleeping\n")) sawSleeping();
      },
    );
    await sleeping;
    await kernel.interrupt();
    const { reply, iopub } = await run;
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(reply).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    const errors = iopub
      .filter((s) => KernelMessage.isErrorMsg(s.msg))
      .map((s) => (s.msg as KernelMessage.IErrorMsg).content);
    expect(errors).toEqual([expect.objectContaining({ ename: "KeyboardInterrupt" })]);
    // IPython colours tracebacks: drop the ANSI escapes before looking for the cell's line.
    // eslint-disable-next-line no-control-regex
    expect(errors[0]!.traceback.join("\n").replace(/\u001b\[[0-9;]*m/g, "")).toContain("time.sleep(60)");
    expect(stdoutOf(iopub)).toBe("sleeping\n");

    // The kernel is usable afterwards, its namespace intact.
    const after = await execute(kernel, "print(done)");
    expect(stdoutOf(after.iopub)).toBe("5\n");
  });

  test("restart clears the namespace and the execution count", async () => {
    const before = sockets.length;
    await execute(kernel, "kept = 'before restart'");
    await kernel.restart();
    // Services reconnects after a restart, again with the v1 subprotocol.
    expect(sockets.length).toBeGreaterThan(before);
    expect(sockets[sockets.length - 1]!.protocol()).toBe(V1);
    const { reply, iopub } = await execute(kernel, "kept");
    expect(reply).toMatchObject({ status: "error", ename: "NameError", execution_count: 1 });
    const err = iopub.find((s) => KernelMessage.isErrorMsg(s.msg))?.msg as
      KernelMessage.IErrorMsg | undefined;
    expect(err?.content.evalue).toContain("kept");
  });

  test("shutdown removes the kernel from the server", async () => {
    const id = kernel.id;
    await kernel.shutdown();
    expect(kernel.isDisposed).toBe(true);
    expect(await KernelAPI.listRunning(settings)).toEqual([]);
    expect(server.kernels.get(id)).toBeUndefined();
  });
});
