/**
 * %%srun cells on the test cluster: the cell's Python on every task of a two-node job (partition
 * atesting spans both CPU nodes), with rank and size in its namespace; rank 0's output streams,
 * another's comes on request; the namespace carried on is rank 0's; a rank that fails is named.
 */
import { openKernel } from "../helpers/ssh";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";
import type { WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

const statusLines = (msgs: WireMessage[]): string[] =>
  msgs
    .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"] ?? "").split("\n")[0]!);
const jobIdOf = (msgs: WireMessage[]) => /job (\d+)/.exec(statusLines(msgs).join("\n"))![1]!;
// eslint-disable-next-line no-control-regex -- tracebacks are coloured
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

let cluster: ClusterEnv;
let server: SlurmServer;
let kernel: WsKernelClient;
let partition: string;
beforeAll(async () => {
  cluster = requireCluster();
  partition = cluster.ALPINE_TEST_MULTINODE_PARTITION ?? "";
  if (!partition || !cluster.ALPINE_TEST_CPU_NODE2)
    throw new Error(
      "the test cluster has one CPU node: run scripts/test-cluster/up.sh (it adds a second one)",
    );
  server = await startSlurmServer(cluster);
  kernel = await openKernel(server, "ranks.ipynb");
});
afterAll(async () => {
  kernel?.close();
  server?.cancelJobs();
  await server?.stop();
});

test("a 2-task cell across two nodes: rank and size, rank 0's output live, rank 1's on request, rank 0's namespace", async () => {
  const r = await kernel.execute(
    [
      `%%slurm -p ${partition} -N 2 --ntasks-per-node 1`,
      "%%srun",
      "import os",
      "print(f'rank {rank} of {size} on', os.environ['SLURMD_NODENAME'], flush=True)",
      "mine = rank * 10",
    ].join("\n"),
    { timeoutMs: 90_000 },
  );
  expect(r.reply.content.status).toBe("ok");
  expect(streamText(r.iopub)).toBe(`rank 0 of 2 on ${cluster.ALPINE_TEST_CPU_NODE}\n`);
  const jobId = jobIdOf(r.iopub);
  const other = await kernel.execute(`%slurm output ${jobId} --rank 1`);
  expect(streamText(other.iopub)).toBe(`rank 1 of 2 on ${cluster.ALPINE_TEST_CPU_NODE2}\n`);
  expect(statusLines(r.iopub).at(-1)).toMatch(/^✔ job \d+ completed in/);
  // The namespace carried on is rank 0's.
  expect(streamText((await kernel.execute("print(mine, rank, size)")).iopub)).toBe("0 0 2\n");
}, 120_000);

test("-N 2 --ntasks-per-node 2: four ranks, two on each node; the last one's output on request", async () => {
  const r = await kernel.execute(
    [
      `%%slurm -p ${partition} -N 2 --ntasks-per-node 2`,
      "%%srun",
      "import os",
      "print(f'rank {rank} of {size} on', os.environ['SLURMD_NODENAME'], flush=True)",
    ].join("\n"),
    { timeoutMs: 90_000 },
  );
  expect(r.reply.content.status).toBe("ok");
  expect(streamText(r.iopub)).toBe(`rank 0 of 4 on ${cluster.ALPINE_TEST_CPU_NODE}\n`);
  const jobId = jobIdOf(r.iopub);
  const last = await kernel.execute(`%slurm output ${jobId} --rank 3`);
  expect(streamText(last.iopub)).toBe(`rank 3 of 4 on ${cluster.ALPINE_TEST_CPU_NODE2}\n`);
  const none = await kernel.execute(`%slurm output ${jobId} --rank 4`);
  expect(none.reply.content).toMatchObject({ status: "error", ename: "MagicError" });
  expect(String(none.reply.content.evalue)).toContain(
    `job ${jobId} has no rank 4: it ran 4 task(s), ranks 0-3`,
  );
}, 120_000);

test("a rank that raises: the cell ends RanksFailed naming it; rank 0's output is still the cell's", async () => {
  const r = await kernel.execute(
    [
      `%%slurm -p ${partition} -N 2 --ntasks-per-node 1`,
      "%%srun",
      "print('hello from', rank, flush=True)",
      "if rank == 1: raise ValueError('rank one broke')",
    ].join("\n"),
    { timeoutMs: 90_000 },
  );
  const jobId = jobIdOf(r.iopub);
  expect(r.reply.content).toMatchObject({ status: "error", ename: "RanksFailed" });
  expect(r.reply.content.evalue).toBe(
    `1 of 2 ranks of job ${jobId} failed: rank 1 (%slurm output ${jobId} --rank 1 shows a rank's output)`,
  );
  const err = r.iopub.find((m) => m.header.msg_type === "error")!;
  expect(plain((err.content.traceback as string[]).join("\n"))).toContain(
    "rank 1 (FAILED) — ValueError: rank one broke",
  );
  expect(streamText(r.iopub)).toBe("hello from 0\n");
  const one = await kernel.execute(`%slurm output ${jobId} --rank 1`);
  expect(
    plain(JSON.stringify(one.iopub.filter((m) => m.header.msg_type === "error").map((m) => m.content))),
  ).toContain("rank one broke");
}, 120_000);

test("%slurm output --rank of a cell that is not an srun cell: said", async () => {
  const r = await kernel.execute("print(1)");
  const o = await kernel.execute(`%slurm output ${jobIdOf(r.iopub)} --rank 1`);
  expect(o.reply.content.evalue).toMatch(/is not an %%srun cell: it has no ranks/);
});
