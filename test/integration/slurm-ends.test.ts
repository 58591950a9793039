/**
 * Each way a cell's job can end, produced for real on the test cluster, gives a specific error with
 * an ename a program can test; interrupts reach Python as KeyboardInterrupt; a pending cell is
 * cancelled. Twice: the server on the cluster itself (local transport) and on "a laptop" over SSH.
 * The time-limit case takes Slurm ~60–90 s, so both transports' time-limit cells start first, in
 * kernels of their own, and are checked last.
 */
import { execFileSync } from "node:child_process";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
  type TransportKind,
} from "../helpers/slurm";

const TRANSPORTS: TransportKind[] = ["local", "ssh"];

const open = async (server: SlurmServer, notebook: string) => {
  const id = await startKernel(server, { KERNEL_WORKING_DIR: server.workDir, KERNEL_NOTEBOOK: notebook });
  return WsKernelClient.open(server, id, "v1");
};

let cluster: ClusterEnv;
const servers = new Map<TransportKind, { server: SlurmServer; slow: WsKernelClient; timeoutMsgId: string }>();

beforeAll(async () => {
  cluster = requireCluster();
  for (const transport of TRANSPORTS) {
    const server = await startSlurmServer(cluster, "", undefined, { transport });
    const slow = await open(server, "timeout.ipynb");
    const timeoutMsgId = await slow.startExecute(
      "%%slurm -t 1\nimport time\nprint('started', flush=True)\ntime.sleep(600)",
    );
    servers.set(transport, { server, slow, timeoutMsgId });
  }
});
afterAll(async () => {
  for (const { server, slow } of servers.values()) {
    slow.close();
    server.cancelJobs();
    await server.stop();
  }
});

describe.each(TRANSPORTS)("slurm backend over the %s transport: how cells end", (transport) => {
  let server: SlurmServer;
  let kernel: WsKernelClient;

  beforeAll(async () => {
    server = servers.get(transport)!.server;
    kernel = await open(server, "ends.ipynb");
  });
  afterAll(() => kernel?.close());

  const jobIdOf = async (msgId: string): Promise<string> => {
    const m = await kernel.waitFor(
      "a status line with the job id",
      (x) => x.parent_header.msg_id === msgId && /job (\d+)/.test(JSON.stringify(x.content.data ?? "")),
      20_000,
    );
    return /job (\d+)/.exec(JSON.stringify(m.content.data))![1]!;
  };

  test("a cell whose process exits non-zero: CellProcessDied with the exit code and the last stderr lines", async () => {
    const r = await kernel.execute(
      "import os, sys\nprint('about to fail', file=sys.stderr, flush=True)\nos._exit(3)",
      { timeoutMs: 60_000 },
    );
    expect(r.reply.content).toMatchObject({ status: "error", ename: "CellProcessDied" });
    expect(String(r.reply.content.evalue)).toMatch(/exited with code 3/);
    const err = r.iopub.find((m) => m.header.msg_type === "error")!;
    expect((err.content.traceback as string[]).join("\n")).toMatch(/about to fail/);
    // The namespace from before is intact and the next cell runs.
    expect((await kernel.execute("print('next')")).reply.content.status).toBe("ok");
  });

  test("a cell over --mem is killed and told its MaxRSS and what to ask for", async () => {
    const r = await kernel.execute(
      "%%slurm --mem 200M\nimport time\nx = bytearray(700 * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\ntime.sleep(60)",
      { timeoutMs: 90_000 },
    );
    expect(r.reply.content).toMatchObject({ status: "error", ename: "SlurmOutOfMemory" });
    expect(String(r.reply.content.evalue)).toMatch(/MaxRSS.*--mem=200M.*%%slurm --mem/);
  });

  test("a cell cancelled from outside (scancel) ends with SlurmCancelled", async () => {
    const msgId = await kernel.startExecute("import time\nprint('waiting', flush=True)\ntime.sleep(600)");
    const jobId = await jobIdOf(msgId);
    await kernel.waitFor(
      "the cell running",
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "stream",
      30_000,
    );
    execFileSync("runuser", ["-u", cluster.user, "--", "scancel", jobId]);
    const reply = await kernel.reply(msgId, 60_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "SlurmCancelled" });
    expect(String(reply.content.evalue)).toContain(jobId);
  });

  test("interrupt: KeyboardInterrupt with its traceback in a running cell; the kernel carries on", async () => {
    const msgId = await kernel.startExecute("import time\nprint('sleeping', flush=True)\ntime.sleep(600)");
    await kernel.waitFor(
      "the cell running",
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "stream",
      30_000,
    );
    await kernel.request("interrupt_request", {}, "control");
    const reply = await kernel.reply(msgId, 60_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    const err = kernel.iopubFor(msgId).find((m) => m.header.msg_type === "error")!;
    // eslint-disable-next-line no-control-regex -- strip the traceback's ANSI colours
    const tb = (err.content.traceback as string[]).join("\n").replace(/\u001b\[[0-9;]*m/g, "");
    expect(tb).toMatch(/----> 3 time\.sleep\(600\)/);
    expect(streamText((await kernel.execute("print(1 + 1)")).iopub)).toBe("2\n");
  });

  test("interrupt of a cell still pending in the queue cancels its job", async () => {
    const msgId = await kernel.startExecute("%%slurm --begin now+1hour\nprint('never')");
    const jobId = await jobIdOf(msgId);
    await kernel.request("interrupt_request", {}, "control");
    const reply = await kernel.reply(msgId, 60_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    const state = execFileSync("sacct", ["-X", "-n", "-P", "-o", "State", "-j", jobId], {
      encoding: "utf8",
    }).trim();
    expect(state).toMatch(/^CANCELLED/);
  });

  test("the time-limit cell (started first) ended with SlurmTimeout and says how to raise it", async () => {
    const { slow, timeoutMsgId } = servers.get(transport)!;
    expect(streamText(slow.iopubFor(timeoutMsgId))).toBe("started\n");
    const reply = await slow.reply(timeoutMsgId, 150_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "SlurmTimeout" });
    expect(String(reply.content.evalue)).toMatch(/time limit --time=1 .*%%slurm --time/);
  }, 160_000);
});
