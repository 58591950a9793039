/**
 * The namespace store seen from the notebook (local backend, a foreground server, our WebSocket
 * client): %who and %whos list it without a job, %squeue shows its size, a detached cell runs
 * from a snapshot made of hard links (removed when it ends) and its status line says what it
 * moved, restart and shutdown remove the store.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv, type IsolatedEnv } from "../helpers/env";
import { spawnServer, waitForServer, type RuntimeInfo, type Spawned } from "../helpers/processes";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

jest.setTimeout(90_000);

let iso: IsolatedEnv;
let proc: Spawned;
let server: RuntimeInfo;
const workDir = () => join(iso.dir, "sessions");
const api = (path: string, method = "GET") =>
  fetch(`${server.url}${path}`, { method, headers: { Authorization: `token ${server.token}` } });

beforeAll(async () => {
  iso = isolatedEnv();
  iso.writeConfig(`backend: local\nwork_dir: ${workDir()}\nenvironment:\n  python: /usr/bin/python3\n`);
  proc = spawnServer(iso);
  server = await waitForServer(iso).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.output()}`);
  });
});
afterAll(async () => {
  await proc?.stop();
  iso?.cleanup();
});

const text = (iopub: WireMessage[], name = "stdout") =>
  iopub
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => String(m.content.text))
    .join("");
const displayed = (iopub: WireMessage[]) =>
  iopub
    .filter((m) => m.header.msg_type === "display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"]))
    .join("\n");

async function kernel(): Promise<{ id: string; ws: WsKernelClient; store: string; cells: string }> {
  const id = await startKernel(server, { KERNEL_WORKING_DIR: iso.dir });
  const ws = await WsKernelClient.open(server, id, "v1");
  return { id, ws, store: join(workDir(), id, "namespace"), cells: join(workDir(), id, "cells") };
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("%who and %whos list the namespace without running a job; %squeue shows its size", async () => {
  const { ws, cells } = await kernel();
  try {
    await ws.execute(
      "import numpy as np\nbig = np.ones(10_000_000)\nshared = [1]\nalias = shared\nx = 'text'",
    );
    const jobsBefore = readdirSync(cells).length;
    const who = await ws.execute("%who");
    expect(text(who.iopub)).toBe("alias\tbig\tnp\tshared\tx\n");
    expect(text((await ws.execute("%who ndarray list")).iopub)).toBe("alias\tbig\tshared\n");
    const whos = displayed((await ws.execute("%whos")).iopub);
    expect(whos).toMatch(
      /^5 names, 76\.3 MB in .*namespace \(listed from the store's index: nothing was loaded\)/,
    );
    expect(whos).toMatch(
      /\nbig +ndarray +76\.3 MB +10000000 float64 +r-\S+\.pkl \+ 1 buffer file, memory-mapped\n/,
    );
    expect(whos).toMatch(/\nalias +list +\S+ B +len 1 +r-\S+\.pkl \+ with shared \(shared objects\)\n/);
    expect(whos).toMatch(/\nnp +module +— +import numpy +by name \(imported when used\)\n/);
    expect(readdirSync(cells).length).toBe(jobsBefore); // no job ran
    const squeue = displayed((await ws.execute("%squeue")).iopub);
    expect(squeue).toMatch(/namespace: 5 names, 76\.3 MB on disk \(%whos lists them\)/);
  } finally {
    ws.close();
  }
});

test("a detached cell runs from hard links of the store, removed when it ends; its line says what it moved", async () => {
  const { ws, store, cells } = await kernel();
  try {
    await ws.execute("import numpy as np\nbig = np.arange(20_000_000)");
    const r = await ws.execute("%%slurm --detach\nimport time\ntime.sleep(2)\nprint('sum', big.sum())");
    const status = r.iopub.find((m) => m.header.msg_type === "display_data")!;
    const displayId = (status.content.transient as { display_id: string }).display_id;
    const snapshot = readdirSync(cells)
      .filter((f) => f.endsWith(".namespace"))
      .map((f) => join(cells, f));
    expect(snapshot).toHaveLength(1);
    const linked = readdirSync(snapshot[0]!).filter((f) => f !== "index.json");
    expect(linked.length).toBeGreaterThan(0);
    for (const f of linked) expect(statSync(join(snapshot[0]!, f)).ino).toBe(statSync(join(store, f)).ino);
    // The next cell changes the store; the detached one still sees the value of its submission.
    await ws.execute("big = np.zeros(3)");
    const end = await ws.waitFor(
      "the detached cell's end",
      (m) =>
        m.header.msg_type === "update_display_data" &&
        (m.content.transient as { display_id?: string }).display_id === displayId &&
        /✔/.test(String((m.content.data as Record<string, string>)["text/plain"])),
      30_000,
    );
    const line = String((end.content.data as Record<string, string>)["text/plain"]);
    expect(line).toMatch(/ · namespace: loaded 1 of 2 names \(\d+ B read, 153 MB mapped\) in \S+ s/);
    expect(line).toContain("sum 199999990000000");
    await until("the snapshot to be removed", () => !existsSync(snapshot[0]!));
  } finally {
    ws.close();
  }
});

test("a local cell shows no status line, unless it moved a lot of namespace data", async () => {
  const { ws } = await kernel();
  try {
    await ws.execute("import numpy as np\nbig = np.arange(20_000_000)");
    const trivial = await ws.execute("z = 3");
    expect(displayed(trivial.iopub)).toBe("");
    const reads = await ws.execute("print(big[:3])");
    expect(text(reads.iopub)).toBe("[0 1 2]\n");
    expect(displayed(reads.iopub)).toMatch(
      /^✔ job local-\d+ completed in [^·]+ · MaxRSS \d+M · namespace: loaded 1 of 3 names \(\d+ B read, 153 MB mapped\) in \S+ s$/,
    );
  } finally {
    ws.close();
  }
});

test("restart removes the store; so does shutdown", async () => {
  const { id, ws, store } = await kernel();
  await ws.execute("a = 1");
  expect(existsSync(join(store, "index.json"))).toBe(true);
  expect((await api(`/api/kernels/${id}/restart`, "POST")).status).toBe(200);
  expect(existsSync(store)).toBe(false);
  expect(text((await ws.execute("%who")).iopub)).toBe("Interactive namespace is empty.\n");
  await ws.execute("b = 2");
  expect(existsSync(join(store, "index.json"))).toBe(true);
  ws.close();
  expect((await api(`/api/kernels/${id}`, "DELETE")).status).toBe(204);
  await until("the store to be removed", () => !existsSync(store));
});
