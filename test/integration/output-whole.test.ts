/**
 * Nothing lost at the end of a cell (issue 10, defect 1): every byte the cell wrote — through print
 * (the events file) or straight to fd 1 (the job's .out file) — reaches the notebook, however much
 * arrives after the end marker or in one piece. Past `server.max_cell_output_mb` the cell says that
 * the notebook gets no more, and the command it names prints the whole output from the job's files.
 * Also defect 6: a getpass() answer does not stay on disk. Local backend, real runner, real server.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv, type IsolatedEnv } from "../helpers/env";
import { spawnServer, waitForServer, type RuntimeInfo, type Spawned } from "../helpers/processes";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

jest.setTimeout(120_000);

const text = (iopub: WireMessage[], name = "stdout") =>
  iopub
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => String(m.content.text))
    .join("");

interface Server {
  iso: IsolatedEnv;
  proc: Spawned;
  info: RuntimeInfo;
}

async function serve(extra = ""): Promise<Server> {
  const iso = isolatedEnv(`backend: local\nenvironment:\n  python: /usr/bin/python3\n${extra}`);
  const proc = spawnServer(iso);
  const info = await waitForServer(iso).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
  return { iso, proc, info };
}

async function kernel(s: Server): Promise<{ id: string; ws: WsKernelClient }> {
  const id = await startKernel(s.info, { KERNEL_WORKING_DIR: s.iso.dir });
  return { id, ws: await WsKernelClient.open(s.info, id, "v1") };
}

/** Every file left in a kernel's cells directory. */
const cellFiles = (s: Server, kernelId: string) =>
  readdirSync(join(s.iso.dir, "data", "sessions", kernelId, "cells"));

describe("default limit (100 MiB): large outputs arrive whole", () => {
  let s: Server;
  let ws: WsKernelClient;
  let kernelId: string;
  beforeAll(async () => {
    s = await serve();
    ({ id: kernelId, ws } = await kernel(s));
  });
  afterAll(async () => {
    ws?.close();
    await s?.proc.stop();
    s?.iso.cleanup();
  });

  test("one print of 20 MiB, then END: all of it, in order, and the cell is ok", async () => {
    const { reply, iopub } = await ws.execute("print('y' * (20 << 20)); print('END')", { timeoutMs: 90_000 });
    expect(reply.content.status).toBe("ok");
    const out = text(iopub);
    expect(out.length).toBe((20 << 20) + 5);
    expect(out.endsWith("y\nEND\n")).toBe(true);
    expect(/^y+\nEND\n$/.test(out)).toBe(true);
  });

  test("40 writes of 1 MiB: 40 MiB, not a byte less, no CellProcessDied", async () => {
    const code =
      "import sys\nfor i in range(40):\n    sys.stdout.write(chr(97 + i % 26) * (1 << 20))\nprint()";
    const { reply, iopub } = await ws.execute(code, { timeoutMs: 90_000 });
    expect(reply.content.status).toBe("ok");
    const out = text(iopub);
    expect(out.length).toBe((40 << 20) + 1);
    for (let i = 0; i < 40; i++) expect(out[(i << 20) + 12345]).toBe(String.fromCharCode(97 + (i % 26)));
  });

  test("os.write(1, 20 MiB) straight to the job's stdout file: all 20 MiB", async () => {
    const { reply, iopub } = await ws.execute("import os\nos.write(1, b'w' * (20 << 20))\nNone", {
      timeoutMs: 90_000,
    });
    expect(reply.content.status).toBe("ok");
    const out = text(iopub);
    expect(out.length).toBe(20 << 20);
    expect(/^w+$/.test(out)).toBe(true);
  });

  test("a getpass() answer is deleted once read: no input file stays beside the cell", async () => {
    const id = await ws.startExecute(
      "import getpass\nsecret = getpass.getpass('Token: ')\nprint(len(secret))",
      {
        allowStdin: true,
      },
    );
    const req = await ws.waitFor(
      "input_request",
      (m) => m.channel === "stdin" && m.header.msg_type === "input_request",
    );
    expect(req.content).toEqual({ prompt: "Token: ", password: true });
    await ws.send("stdin", "input_reply", { value: "hunter2-secret" }, req.header);
    expect((await ws.reply(id, 30_000)).content.status).toBe("ok");
    await ws.idle(id);
    expect(text(ws.iopubFor(id))).toBe("14\n");
    const files = cellFiles(s, kernelId);
    expect(files.some((f) => f.endsWith(".events.jsonl"))).toBe(true);
    expect(files.filter((f) => f.includes(".input."))).toEqual([]);
  });
});

describe("a cell past server.max_cell_output_mb", () => {
  let s: Server;
  let ws: WsKernelClient;
  beforeAll(async () => {
    s = await serve("server:\n  max_cell_output_mb: 4\n");
    ({ ws } = await kernel(s));
  });
  afterAll(async () => {
    ws?.close();
    await s?.proc.stop();
    s?.iso.cleanup();
  });

  test("says so once, shows what came before, still ends normally; the named command prints every line", async () => {
    const code = [
      "import sys",
      "for i in range(200_000):",
      "    print(f'line {i:06d} ' + 'x' * 50)",
      "print('the last line')",
      "sys.stderr.write('a warning at the end\\n')",
      "1 + 1",
    ].join("\n");
    const { reply, iopub } = await ws.execute(code, { timeoutMs: 90_000 });
    expect(reply.content.status).toBe("ok");
    const out = text(iopub);
    const err = text(iopub, "stderr");
    // Shown: the start, in order, up to about the limit (counted in the files, where each print is
    // two JSON events; one 4 MiB read past it at most).
    expect(out.startsWith("line 000000 ")).toBe(true);
    expect(out.length).toBeGreaterThan(1 << 20);
    expect(out.length).toBeLessThan(8 << 20);
    expect(
      out
        .split("\n")
        .slice(0, -1)
        .every((l, i) => l === `line ${String(i).padStart(6, "0")} ${"x".repeat(50)}`),
    ).toBe(true);
    expect(out).not.toMatch(/the last line/);
    const notices = err.match(/output passed 4\.0 MiB/g) ?? [];
    expect(notices.length).toBe(1);
    expect(err).toMatch(/none of its output is lost/);
    // The result of the last expression still arrives.
    const result = iopub.find((m) => m.header.msg_type === "execute_result");
    expect(result?.content.data).toEqual({ "text/plain": "2" });
    // The command the notice names prints the whole output.
    const command = /as text:\s+(python3 \S+ \S+)/.exec(err)?.[1];
    expect(command).toBeDefined();
    const whole = execFileSync("bash", ["-c", command!], { encoding: "utf8", maxBuffer: 64 << 20 });
    const lines = whole.split("\n");
    expect(lines[0]).toBe(`line 000000 ${"x".repeat(50)}`);
    expect(lines[199_999]).toBe(`line 199999 ${"x".repeat(50)}`);
    expect(lines.slice(200_000, 200_003)).toEqual(["the last line", "a warning at the end", "2"]);
    // The next cell is not limited by the one before.
    const next = await ws.execute("print('small')");
    expect(text(next.iopub)).toBe("small\n");
  });
});
