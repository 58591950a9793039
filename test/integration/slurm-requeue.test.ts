/**
 * Node failure and requeue for real (issue 10): `scontrol requeue` of a running cell's job, and a
 * node whose slurmd dies mid-cell (its job's processes with it) until Slurm marks it down. The cell
 * says what happened; a requeued cell follows the new run — Slurm starts its output files anew —
 * without printing the old run's output twice; a cell that may not be requeued ends with
 * SlurmNodeFail.
 *
 * The node failure kills the GPU node's slurmd (other tests' GPU jobs on it die too); it is brought
 * back in `finally` the way up.sh starts it, and the node resumed.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/env";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";

jest.setTimeout(420_000);

let cluster: ClusterEnv;
let server: SlurmServer;
const clients: WsKernelClient[] = [];

beforeAll(async () => {
  cluster = requireCluster();
  server = await startSlurmServer(cluster);
});
afterAll(async () => {
  for (const c of clients) c.close();
  server?.cancelJobs();
  await server?.stop();
});

async function open(notebook: string): Promise<{ id: string; ws: WsKernelClient }> {
  const id = await startKernel(server, { KERNEL_WORKING_DIR: server.workDir, KERNEL_NOTEBOOK: notebook });
  const ws = await WsKernelClient.open(server, id, "v1");
  clients.push(ws);
  return { id, ws };
}

const asUser = (argv: string[]) =>
  execFileSync("runuser", ["-u", cluster.user, "--", ...argv], { encoding: "utf8", timeout: 30_000 });

/** Lets a requeued job start at once (Slurm holds it two minutes), once it is pending again. */
async function releaseRequeued(jobId: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const state = execFileSync("squeue", ["-h", "-j", jobId, "-o", "%T"], {
      encoding: "utf8",
      timeout: 30_000,
    }).trim();
    if (state === "PENDING") {
      asUser(["scontrol", "update", `jobid=${jobId}`, "starttime=now"]);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`job ${jobId} did not go back to PENDING`);
}

const ticks = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `tick ${from + i}\n`).join("");

async function jobIdOf(ws: WsKernelClient, msgId: string): Promise<string> {
  const m = await ws.waitFor(
    "a status line with the job id",
    (x) => x.parent_header.msg_id === msgId && /job (\d+)/.test(JSON.stringify(x.content.data ?? "")),
    60_000,
  );
  return /job (\d+)/.exec(JSON.stringify(m.content.data))![1]!;
}

const waitForText = (ws: WsKernelClient, msgId: string, name: string, re: RegExp, timeoutMs = 60_000) =>
  ws.waitFor(`${name}: ${re}`, () => re.test(streamText(ws.iopubFor(msgId), name)), timeoutMs);

/** stdout of a requeued cell: the first run's first ticks, then the whole second run. */
function expectRerun(stdout: string, n: number): void {
  const second = stdout.lastIndexOf("tick 0\n");
  const firstRun = stdout.slice(0, second);
  const k = firstRun.split("\n").length - 1;
  expect(k).toBeGreaterThan(0);
  expect(firstRun).toBe(ticks(0, k));
  expect(stdout.slice(second)).toBe(ticks(0, n));
}

const TICKS = "import time\nfor i in range(N):\n    print(f'tick {i}', flush=True)\n    time.sleep(1)";

test("scontrol requeue of a running cell: it says so, follows the new run, the old output is not printed twice", async () => {
  const { ws } = await open("requeue.ipynb");
  const msgId = await ws.startExecute(TICKS.replace("N", "10"));
  const jobId = await jobIdOf(ws, msgId);
  await waitForText(ws, msgId, "stdout", /tick 2\n/);
  asUser(["scontrol", "requeue", jobId]);
  await waitForText(ws, msgId, "stderr", /put it back in the queue/);
  // Slurm holds a requeued job for two minutes (BeginTime); its owner may let it go at once.
  await releaseRequeued(jobId);
  const reply = await ws.reply(msgId, 120_000);
  // On failure, show what the cell said.
  if (reply.content.status !== "ok")
    throw new Error(`${JSON.stringify(reply.content)}\n${streamText(ws.iopubFor(msgId), "stderr")}`);
  await ws.idle(msgId);
  const iopub = ws.iopubFor(msgId);
  expectRerun(streamText(iopub), 10);
  const err = streamText(iopub, "stderr");
  expect(err).toMatch(
    new RegExp(
      `Slurm stopped job ${jobId} and put it back in the queue \\(it was requeued with scontrol requeue\\)`,
    ),
  );
  expect(err).toMatch(
    new RegExp(`job ${jobId} was requeued and started again on ${cluster.ALPINE_TEST_CPU_NODE}`),
  );
  expect(iopub.filter((m) => m.header.msg_type === "error")).toEqual([]);
});

/** Every process whose command line mentions `needle` (the job's steps and its Python). */
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(join("/proc", d, "cmdline"), "utf8").includes(needle)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

const nodeState = (node: string) =>
  execFileSync("sinfo", ["-h", "-N", "-n", node, "-o", "%T"], { encoding: "utf8", timeout: 30_000 }).trim();

test("the GPU node's slurmd dies mid-cell: Slurm marks it down; a cell that may be requeued runs again, one that may not ends with SlurmNodeFail", async () => {
  const node = cluster.ALPINE_TEST_GPU_NODE!;
  const rerun = await open("node-fail-rerun.ipynb");
  const once = await open("node-fail-once.ipynb");
  const rerunMsg = await rerun.ws.startExecute(
    `%%slurm -p ${cluster.gpuPartition}\n${TICKS.replace("N", "30")}`,
  );
  const onceMsg = await once.ws.startExecute(
    `%%slurm -p ${cluster.gpuPartition} --no-requeue\n${TICKS.replace("N", "300")}`,
  );
  const rerunJob = await jobIdOf(rerun.ws, rerunMsg);
  const onceJob = await jobIdOf(once.ws, onceMsg);
  await waitForText(rerun.ws, rerunMsg, "stdout", /tick 2\n/);
  await waitForText(once.ws, onceMsg, "stdout", /tick 2\n/);

  const slurmdPid = Number(readFileSync(`/run/slurmd-${node}.pid`, "utf8").trim());
  try {
    // The node dies: its slurmd, and with it everything running there for these jobs.
    process.kill(slurmdPid, "SIGKILL");
    killPids([
      ...pidsMentioning(`[${rerunJob}.`),
      ...pidsMentioning(`[${onceJob}.`),
      ...pidsMentioning(join(server.workDir, rerun.id)),
      ...pidsMentioning(join(server.workDir, once.id)),
    ]);
    // SlurmdTimeout=30: Slurm marks the node down, the --no-requeue job NODE_FAIL.
    const ended = await once.ws.reply(onceMsg, 180_000);
    expect(ended.content).toMatchObject({ status: "error", ename: "SlurmNodeFail" });
    expect(String(ended.content.evalue)).toMatch(
      new RegExp(`the node running job ${onceJob} \\(${node}\\) failed`),
    );
    await waitForText(rerun.ws, rerunMsg, "stderr", /put it back in the queue/, 60_000);
  } finally {
    execFileSync("bash", [join(ROOT, "scripts/test-cluster/up.sh")], {
      env: { ...process.env, SKIP_APT: "1" },
      stdio: "ignore",
      timeout: 180_000,
    });
    try {
      execFileSync("scontrol", ["update", `nodename=${node}`, "state=resume"], {
        stdio: "ignore",
        timeout: 30_000,
      });
    } catch {
      // already back (ReturnToService=2)
    }
  }
  expect(nodeState(node)).not.toMatch(/down/);
  await releaseRequeued(rerunJob);
  const reply = await rerun.ws.reply(rerunMsg, 180_000);
  expect(reply.content).toMatchObject({ status: "ok" });
  await rerun.ws.idle(rerunMsg);
  expectRerun(streamText(rerun.ws.iopubFor(rerunMsg)), 30);
  expect(streamText(rerun.ws.iopubFor(rerunMsg), "stderr")).toMatch(
    new RegExp(`job ${rerunJob} was requeued and started again on ${node}`),
  );
});
