/**
 * A kernel's life on the local backend (each cell's job script run by bash on this machine):
 * interrupts, stop_on_error, input() with and without a stdin channel, a cell whose process dies,
 * shutdown and restart, large and split output. Through our own WebSocket client against a
 * foreground server, and through Debian's jupyter_client against the installed kernelspec.
 */
import { installKernelSpec, isolatedEnv, runPython, type IsolatedEnv } from "../helpers/env";
import {
  readRuntime,
  spawnBridge,
  spawnServer,
  waitForServer,
  writeConnectionFile,
  type RuntimeInfo,
  type Spawned,
} from "../helpers/processes";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import { ZmqKernelClient, type WireMessage } from "../helpers/zmq-client";

jest.setTimeout(60_000);

const CONFIG = "backend: local\nenvironment:\n  python: /usr/bin/python3\n";
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const plain = (s: string) => s.replace(ANSI, "");
const text = (iopub: WireMessage[], name = "stdout") =>
  iopub
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => String(m.content.text))
    .join("");
const ofType = (iopub: WireMessage[], type: string) => iopub.filter((m) => m.header.msg_type === type);

let iso: IsolatedEnv;
let proc: Spawned;
let server: RuntimeInfo;
const api = (path: string, method = "GET") =>
  fetch(`${server.url}${path}`, { method, headers: { Authorization: `token ${server.token}` } });

beforeAll(async () => {
  iso = isolatedEnv(CONFIG);
  proc = spawnServer(iso);
  server = await waitForServer(iso).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
});
afterAll(async () => {
  await proc?.stop();
  iso?.cleanup();
});

/** A fresh kernel and a v1 WebSocket client on it. */
async function kernel(): Promise<{ id: string; ws: WsKernelClient }> {
  const id = await startKernel(server, { KERNEL_WORKING_DIR: iso.dir });
  return { id, ws: await WsKernelClient.open(server, id, "v1") };
}

describe("interrupt", () => {
  test("interrupt_request during a cell → KeyboardInterrupt with a traceback into the cell; the next cell runs", async () => {
    const { ws } = await kernel();
    try {
      await ws.execute("before = 'kept'");
      const id = await ws.startExecute(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nprint('not reached')",
      );
      // Wait for the whole line (print writes "sleeping" and "\n" separately), so the interrupt lands in sleep().
      await ws.waitFor("the cell to start", () => text(ws.iopubFor(id)) === "sleeping\n");
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      const ir = await ws.request("interrupt_request", {}, "control");
      expect(ir.content).toEqual({ status: "ok" });
      const reply = await ws.reply(id, 10_000);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
      await ws.idle(id);
      const [error] = ofType(ws.iopubFor(id), "error");
      expect(error?.content.ename).toBe("KeyboardInterrupt");
      const tb = plain((error!.content.traceback as string[]).join("\n"));
      expect(tb).toMatch(/time\.sleep\(60\)/);
      expect(tb).toMatch(/line 3/);
      expect(text(ws.iopubFor(id))).not.toContain("not reached");

      const next = await ws.execute("print(before)");
      expect(next.reply.content.status).toBe("ok");
      expect(text(next.iopub)).toBe("kept\n");
    } finally {
      ws.close();
    }
  });

  test("a cell that ignores SIGINT: the second interrupt cancels its job", async () => {
    const { id: kid, ws } = await kernel();
    try {
      const id = await ws.startExecute(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('deaf', flush=True)\ntime.sleep(60)",
      );
      await ws.waitFor(
        "the cell to start",
        (m) => m.parent_header.msg_id === id && m.header.msg_type === "stream",
      );
      expect((await api(`/api/kernels/${kid}/interrupt`, "POST")).status).toBe(204);
      await new Promise((r) => setTimeout(r, 700));
      expect(ws.received.some((m) => m.parent_header.msg_id === id && m.channel === "shell")).toBe(false);
      expect((await api(`/api/kernels/${kid}/interrupt`, "POST")).status).toBe(204);
      const reply = await ws.reply(id, 15_000);
      expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
      expect(String(reply.content.evalue)).toMatch(/interrupted and its job .* cancelled/);
      expect((await ws.execute("print('next')")).reply.content.status).toBe("ok");
    } finally {
      ws.close();
    }
  });
});

describe("stop_on_error", () => {
  test("a failing cell aborts the requests queued behind it (status aborted); later ones run", async () => {
    const { ws } = await kernel();
    try {
      const failing = await ws.startExecute("import time\ntime.sleep(0.5)\nraise ValueError('boom')");
      const queued = [await ws.startExecute("print('never 1')"), await ws.startExecute("print('never 2')")];
      const r0 = await ws.reply(failing, 20_000);
      expect(r0.content).toMatchObject({ status: "error", ename: "ValueError", evalue: "boom" });
      for (const id of queued) {
        const r = await ws.reply(id, 5000);
        expect(r.header.msg_type).toBe("execute_reply");
        expect(r.content.status).toBe("aborted");
        expect(ofType(ws.iopubFor(id), "stream")).toEqual([]);
        await ws.idle(id);
      }
      const after = await ws.execute("print('runs again')");
      expect(after.reply.content.status).toBe("ok");
      expect(text(after.iopub)).toBe("runs again\n");
    } finally {
      ws.close();
    }
  });

  test("stop_on_error false: the cells behind a failing one still run", async () => {
    const { ws } = await kernel();
    try {
      const failing = await ws.startExecute("raise KeyError('k')", { stopOnError: false });
      const next = await ws.startExecute("print('still runs')");
      expect((await ws.reply(failing, 20_000)).content).toMatchObject({ status: "error", ename: "KeyError" });
      expect((await ws.reply(next, 20_000)).content.status).toBe("ok");
      await ws.idle(next);
      expect(text(ws.iopubFor(next))).toBe("still runs\n");
    } finally {
      ws.close();
    }
  });
});

describe("input()", () => {
  test("through the stdin channel of the WebSocket", async () => {
    const { ws } = await kernel();
    try {
      const id = await ws.startExecute("answer = input('Question? ')\nprint('got', answer)", {
        allowStdin: true,
      });
      const req = await ws.waitFor(
        "input_request",
        (m) => m.channel === "stdin" && m.header.msg_type === "input_request",
      );
      expect(req.content).toEqual({ prompt: "Question? ", password: false });
      expect(req.parent_header.msg_id).toBe(id);
      await ws.send("stdin", "input_reply", { value: "forty-two ✓" }, req.header);
      expect((await ws.reply(id, 20_000)).content.status).toBe("ok");
      await ws.idle(id);
      expect(text(ws.iopubFor(id))).toBe("got forty-two ✓\n");
    } finally {
      ws.close();
    }
  });

  test("without a stdin channel it fails fast with a clear message, never hangs", async () => {
    const { ws } = await kernel();
    try {
      const t0 = Date.now();
      const { reply } = await ws.execute("x = input('never answered? ')", {
        allowStdin: false,
        timeoutMs: 15_000,
      });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(reply.content).toMatchObject({
        status: "error",
        ename: "StdinNotImplementedError",
        evalue: "input() is not available: this frontend does not accept input requests",
      });
      expect(ws.received.filter((m) => m.channel === "stdin")).toEqual([]);
      expect((await ws.execute("print('next')")).reply.content.status).toBe("ok");
    } finally {
      ws.close();
    }
  });
});

describe("a cell whose process dies", () => {
  test("os._exit(3) → CellProcessDied; the next cell runs with the namespace from before", async () => {
    const { ws } = await kernel();
    try {
      await ws.execute("kept = [1, 2, 3]");
      const { msgId, reply } = await ws.execute("import os\nkept.append(4)\nos._exit(3)", {
        timeoutMs: 20_000,
      });
      expect(reply.content).toMatchObject({ status: "error", ename: "CellProcessDied" });
      expect(String(reply.content.evalue)).toMatch(/exited with code 3/);
      const [error] = ofType(ws.iopubFor(msgId), "error");
      expect(error?.content).toMatchObject({ ename: "CellProcessDied" });
      const next = await ws.execute("print(kept)");
      expect(next.reply.content.status).toBe("ok");
      expect(text(next.iopub)).toBe("[1, 2, 3]\n");
    } finally {
      ws.close();
    }
  });
});

describe("shutdown and restart", () => {
  test("REST restart: namespace cleared, execution_count back to 1", async () => {
    const { id, ws } = await kernel();
    try {
      await ws.execute("a = 1");
      expect((await ws.execute("a + 1")).reply.content.execution_count).toBe(2);
      expect((await api(`/api/kernels/${id}/restart`, "POST")).status).toBe(200);
      const { reply } = await ws.execute("a");
      expect(reply.content).toMatchObject({ status: "error", ename: "NameError", execution_count: 1 });
    } finally {
      ws.close();
    }
  });

  test("shutdown_request with restart on control: same, and the session stays", async () => {
    const { id, ws } = await kernel();
    try {
      await ws.execute("b = 2");
      const r = await ws.request("shutdown_request", { restart: true }, "control");
      expect(r.content).toEqual({ status: "ok", restart: true });
      expect((await api(`/api/kernels/${id}`)).status).toBe(200);
      const { reply } = await ws.execute("b");
      expect(reply.content).toMatchObject({ status: "error", ename: "NameError", execution_count: 1 });
    } finally {
      ws.close();
    }
  });

  test("restart while a cell runs: the cell is stopped and answered, the namespace is fresh", async () => {
    const { id, ws } = await kernel();
    try {
      await ws.execute("c = 3");
      const running = await ws.startExecute("import time\nprint('go', flush=True)\ntime.sleep(60)");
      await ws.waitFor(
        "the cell to start",
        (m) => m.parent_header.msg_id === running && m.header.msg_type === "stream",
      );
      expect((await api(`/api/kernels/${id}/restart`, "POST")).status).toBe(200);
      expect((await ws.reply(running, 10_000)).content.status).toBe("error");
      const { reply } = await ws.execute("c");
      expect(reply.content).toMatchObject({ status: "error", ename: "NameError", execution_count: 1 });
    } finally {
      ws.close();
    }
  });

  test("shutdown_request: replied, the kernel is gone and its channels are closed", async () => {
    const { id, ws } = await kernel();
    const r = await ws.request("shutdown_request", { restart: false }, "control");
    expect(r.content).toEqual({ status: "ok", restart: false });
    await ws.waitFor("nothing (the socket to close)", () => false, 5000).catch(() => {});
    expect((await api(`/api/kernels/${id}`)).status).toBe(404);
    expect(ws.closedWith).toBeDefined();
    ws.close();
  });

  test("shutdown_request through the bridge: replied, the bridge exits, its kernel is deleted and none reopened", async () => {
    const { path, info } = await writeConnectionFile(iso.dir);
    // The bridge finds the foreground server through the runtime file.
    const bridge = spawnBridge(iso, path);
    const zc = new ZmqKernelClient(info);
    try {
      await zc.waitForReady(20_000);
      const before = (await (await api("/api/kernels")).json()) as { id: string }[];
      const r = await zc.request("control", "shutdown_request", { restart: false });
      expect(r.content).toEqual({ status: "ok", restart: false });
      expect((await bridge.exited).code).toBe(0);
      await new Promise((res) => setTimeout(res, 500)); // time for a wrongly reconnecting bridge to open a kernel
      const after = (await (await api("/api/kernels")).json()) as { id: string }[];
      expect(after.length).toBe(before.length - 1);
      expect(bridge.output()).not.toMatch(/reconnecting|opening a new one/);
    } finally {
      zc.close();
      await bridge.stop();
    }
  });

  test("DELETE: the kernel's channels are closed", async () => {
    const { id, ws } = await kernel();
    expect((await api(`/api/kernels/${id}`, "DELETE")).status).toBe(204);
    await ws.waitFor("nothing (the socket to close)", () => false, 5000).catch(() => {});
    expect(ws.closedWith).toBeDefined();
    ws.close();
  });
});

describe("output", () => {
  test("2 MB printed by a cell arrives complete and in order", async () => {
    const { ws } = await kernel();
    try {
      const { reply, iopub } = await ws.execute("for i in range(20000):\n    print(f'{i:06d} ' + 'x' * 93)", {
        timeoutMs: 30_000,
      });
      expect(reply.content.status).toBe("ok");
      const expected = Array.from(
        { length: 20000 },
        (_, i) => `${String(i).padStart(6, "0")} ${"x".repeat(93)}\n`,
      ).join("");
      const got = text(iopub);
      expect(got.length).toBe(expected.length);
      expect(got === expected).toBe(true);
    } finally {
      ws.close();
    }
  });

  test("2 MB written straight to file descriptor 1 (as a subprocess would) arrives complete and in order", async () => {
    const { ws } = await kernel();
    try {
      const { reply, iopub } = await ws.execute(
        "import os\nfor i in range(20000):\n    os.write(1, (f'{i:06d} ' + 'y' * 93 + '\\n').encode())",
        { timeoutMs: 30_000 },
      );
      expect(reply.content.status).toBe("ok");
      const expected = Array.from(
        { length: 20000 },
        (_, i) => `${String(i).padStart(6, "0")} ${"y".repeat(93)}\n`,
      ).join("");
      expect(text(iopub) === expected).toBe(true);
    } finally {
      ws.close();
    }
  });

  test("unicode written a few bytes at a time, split inside characters, arrives intact", async () => {
    const { ws } = await kernel();
    try {
      const sample = "héllo wörld ✓ 日本語 😀 Ωmega\n";
      const code = [
        "import os, sys, time",
        `data = ${JSON.stringify(sample)}.encode() * 3`,
        "for i in range(0, len(data), 3):",
        "    os.write(1, data[i:i + 3])",
        "    os.write(2, data[i:i + 3])",
        "    time.sleep(0.01)",
        `for ch in ${JSON.stringify(sample)}:`,
        "    sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.005)",
      ].join("\n");
      const { reply, iopub } = await ws.execute(code, { timeoutMs: 30_000 });
      expect(reply.content.status).toBe("ok");
      const streams = ofType(iopub, "stream").map((m) => String(m.content.text));
      expect(streams.length).toBeGreaterThan(3); // it did arrive in pieces
      expect(streams.join("")).not.toContain("\ufffd");
      expect(text(iopub, "stderr")).toBe(sample.repeat(3));
      expect(text(iopub, "stdout")).toBe(sample.repeat(4));
    } finally {
      ws.close();
    }
  });
});

describe("through jupyter_client (installed kernelspec, ZMQ bridge)", () => {
  type Run = {
    reply: Record<string, unknown>;
    iopub: [number, string, Record<string, unknown>][];
    seconds: number;
  };
  let result: {
    stdin: Run & { prompts: [string, boolean][]; after: Run };
    no_stdin: Run & { after: Run };
    interrupt: {
      reply: Record<string, unknown>;
      iopub: [string, Record<string, unknown>][];
      reply_after_interrupt_s: number;
      after: Run;
    };
    restart: { before: Run; after: Run; again: Run };
    failure?: string;
    alive_after_shutdown: boolean;
  };
  let jc: IsolatedEnv;
  beforeAll(() => {
    jc = isolatedEnv(CONFIG);
    installKernelSpec(jc.env);
    result = JSON.parse(runPython("jupyter_client_lifecycle.py", [], jc.env, 120_000)) as typeof result;
  }, 130_000);
  afterAll(() => jc?.cleanup());

  test("the scenarios ran to the end and the kernel shut down, leaving no kernel behind on the server", async () => {
    expect(result.failure).toBeUndefined();
    expect(result.alive_after_shutdown).toBe(false);
    // Both bridges (before and after the restart) deleted their kernels and did not open new ones.
    const info = readRuntime(jc)!;
    const kernels = await fetch(`${info.url}/api/kernels`, {
      headers: { Authorization: `token ${info.token}` },
    });
    expect(await kernels.json()).toEqual([]);
  });

  test("input() and getpass() answered through the stdin channel (allow_stdin)", () => {
    expect(result.stdin.prompts).toEqual([
      ["Your name? ", false],
      ["Password: ", true],
    ]);
    expect(result.stdin.reply.status).toBe("ok");
    expect(
      result.stdin.iopub
        .filter(([, t]) => t === "stream")
        .map(([, , c]) => c.text)
        .join(""),
    ).toBe("hello Ralphie 6\n");
    expect(
      result.stdin.after.iopub
        .filter(([, t]) => t === "stream")
        .map(([, , c]) => c.text)
        .join(""),
    ).toBe("RALPHIE\n");
  });

  test("without allow_stdin, input() fails fast with StdinNotImplementedError", () => {
    expect(result.no_stdin.reply).toMatchObject({ status: "error", ename: "StdinNotImplementedError" });
    expect(String(result.no_stdin.reply.evalue)).toMatch(/input\(\) is not available/);
    expect(result.no_stdin.seconds).toBeLessThan(10);
    expect(result.no_stdin.after.reply.status).toBe("ok");
  });

  test("KernelManager.interrupt_kernel (interrupt_mode message) → KeyboardInterrupt, the next cell runs", () => {
    expect(result.interrupt.reply).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    const err = result.interrupt.iopub.find(([t]) => t === "error");
    expect(err?.[1].ename).toBe("KeyboardInterrupt");
    expect(plain((err![1].traceback as string[]).join("\n"))).toMatch(/time\.sleep\(60\)/);
    expect(result.interrupt.reply_after_interrupt_s).toBeLessThan(5);
    expect(result.interrupt.after.reply.status).toBe("ok");
  });

  test("KernelManager.restart_kernel: fresh namespace, execution_count starts over", () => {
    expect(result.restart.before.reply.status).toBe("ok");
    expect(result.restart.after.reply).toMatchObject({
      status: "error",
      ename: "NameError",
      execution_count: 1,
    });
    expect(result.restart.again.reply).toMatchObject({ status: "ok", execution_count: 2 });
  });
});

describe("what the local backend does with %%slurm options", () => {
  test("--time is applied as a time limit; the options it cannot apply are named once per session", async () => {
    const { ws } = await kernel();
    try {
      const t0 = Date.now();
      const slow = await ws.execute(
        "%%slurm --time 0:02 --mem 8G --gres gpu:1\nimport time\ntime.sleep(60)",
        {
          timeoutMs: 30_000,
        },
      );
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(slow.reply.content).toMatchObject({ status: "error", ename: "SlurmTimeout" });
      expect(String(slow.reply.content.evalue)).toMatch(/hit its time limit --time=0:02/);
      const notes = text(slow.iopub, "stderr");
      expect(notes).toContain(
        "alpine-kernel: cells run on this machine (backend: local), not as Slurm jobs: --mem 8G, --gres gpu:1 are not applied (--time is, as a time limit).",
      );
      const again = await ws.execute("%%slurm --mem 8G --gres gpu:1\nprint('fine')");
      expect(again.reply.content.status).toBe("ok");
      expect(text(again.iopub, "stderr")).toBe(""); // said once
      const other = await ws.execute("%%slurm --exclusive\nprint('fine')");
      expect(text(other.iopub, "stderr")).toMatch(/--exclusive is not applied/);
      const quick = await ws.execute("%%slurm --time 1:00\nprint('in time')");
      expect(quick.reply.content.status).toBe("ok");
      expect(text(quick.iopub)).toBe("in time\n");
    } finally {
      ws.close();
    }
  });
});
