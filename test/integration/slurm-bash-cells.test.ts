/**
 * %%bash cells on the test cluster: job scripts as users write them — `module load miniforge`,
 * `conda activate`, `#SBATCH` lines (a GPU job landing on aa100, nvidia-smi seeing its GPU), a
 * failing command's exit code, interrupt, a bash array — run as their own job with the same status
 * line and end states as Python cells, and leaving the notebook's namespace alone. On the cluster
 * itself (local transport) and from "a laptop" over SSH.
 */
import { execFileSync } from "node:child_process";
import { openKernel } from "../helpers/ssh";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
  type TransportKind,
} from "../helpers/slurm";
import type { WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

const statusLines = (msgs: WireMessage[]): string[] =>
  msgs
    .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"] ?? "").split("\n")[0]!);
const jobIdOf = (msgs: WireMessage[]) => /(?:job|array) (\d+)/.exec(statusLines(msgs).join("\n"))![1]!;

let cluster: ClusterEnv;
beforeAll(() => {
  cluster = requireCluster();
});

describe.each<TransportKind>(["local", "ssh"])("%%bash cells over the %s transport", (transport) => {
  let server: SlurmServer;
  let kernel: WsKernelClient;

  beforeAll(async () => {
    server = await startSlurmServer(cluster, "", undefined, { transport });
    kernel = await openKernel(server, "pipeline.ipynb");
    expect((await kernel.execute("x = 41")).reply.content.status).toBe("ok");
  });
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
  });

  test("module load miniforge and conda activate, as in a job script; output streams; the namespace is untouched", async () => {
    const r = await kernel.execute(
      [
        "%%bash",
        "#!/bin/bash",
        "#SBATCH --time=0:05:00",
        "#SBATCH --output=pipeline-%j.log",
        "module load miniforge",
        `conda activate ${cluster.ALPINE_TEST_ENV ?? "alpine-kernel"}`,
        "echo python: $(which python)",
        "echo node: $SLURMD_NODENAME limit: $(squeue -h -j $SLURM_JOB_ID -o %l)",
        "x=not-python",
        "echo to stderr >&2",
      ].join("\n"),
      { timeoutMs: 90_000 },
    );
    expect(r.reply.content.status).toBe("ok");
    expect(streamText(r.iopub)).toBe(
      `python: ${cluster.ALPINE_TEST_ENV_PREFIX ?? "/opt/alpine/conda-envs/alpine-kernel"}/bin/python\nnode: ${cluster.ALPINE_TEST_CPU_NODE} limit: 5:00\n`,
    );
    expect(streamText(r.iopub, "stderr")).toBe(
      "alpine-kernel: #SBATCH --output left out: the cell's output streams here (%slurm output JOBID shows it again)\nto stderr\n",
    );
    const lines = statusLines(r.iopub);
    expect(lines[0]).toMatch(/^… queued as job \d+ on acpu/);
    expect(lines.at(-1)).toMatch(/^✔ job \d+ completed in/);
    // Variables do not travel: Python's x is the notebook's own.
    expect(streamText((await kernel.execute("print(x + 1)")).iopub)).toBe("42\n");
  });

  test("#SBATCH -p aa100 --gres gpu:1: the job lands on the GPU node and nvidia-smi sees its GPU", async () => {
    const r = await kernel.execute(
      [
        "%%bash",
        `#SBATCH -p ${cluster.gpuPartition}`,
        "#SBATCH --gres gpu:1",
        "echo partition $SLURM_JOB_PARTITION",
        "nvidia-smi -L",
      ].join("\n"),
      { timeoutMs: 90_000 },
    );
    expect(r.reply.content.status).toBe("ok");
    expect(streamText(r.iopub)).toMatch(
      new RegExp(
        `^partition ${cluster.gpuPartition}\\nGPU 0: NVIDIA A100-PCIE-40GB \\(UUID: GPU-alpine-test-[01]\\)\\n$`,
      ),
    );
    expect(statusLines(r.iopub).some((l) => l.includes(`running on ${cluster.ALPINE_TEST_GPU_NODE}`))).toBe(
      true,
    );
    // slurmdbd records the job a moment after it ends: ask until its record is whole.
    const jobId = jobIdOf(r.iopub);
    let accounting = "";
    for (const until = Date.now() + 30_000; Date.now() < until;) {
      accounting = execFileSync("sacct", ["-X", "-n", "-P", "-o", "Partition,AllocTRES", "-j", jobId], {
        encoding: "utf8",
      });
      if (/^[^|\n]+\|[^\n]*gres/.test(accounting)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(accounting).toMatch(new RegExp(`^${cluster.gpuPartition}\\|.*gres/gpu=1`));
  });

  test("srun in the script: one step task on each node of a two-node job", async () => {
    const partition = cluster.ALPINE_TEST_MULTINODE_PARTITION ?? "";
    if (!partition || !cluster.ALPINE_TEST_CPU_NODE2)
      throw new Error("the test cluster has one CPU node: run scripts/test-cluster/up.sh (it adds a second)");
    const r = await kernel.execute(
      [
        "%%bash",
        `#SBATCH -p ${partition} -N 2 --ntasks-per-node 1`,
        "srun bash -c 'echo $SLURM_PROCID of $SLURM_NTASKS on $SLURMD_NODENAME' | sort",
      ].join("\n"),
      { timeoutMs: 90_000 },
    );
    expect(r.reply.content.status).toBe("ok");
    expect(streamText(r.iopub)).toBe(
      `0 of 2 on ${cluster.ALPINE_TEST_CPU_NODE}\n1 of 2 on ${cluster.ALPINE_TEST_CPU_NODE2}\n`,
    );
  });

  test("a command that fails ends the cell with its exit code (CellScriptFailed), what it printed shown", async () => {
    const r = await kernel.execute("%%bash\nset -e\necho before\nls /no/such/dir\necho never", {
      timeoutMs: 90_000,
    });
    expect(r.reply.content).toMatchObject({
      status: "error",
      ename: "CellScriptFailed",
      evalue: "the cell's script exited with code 2",
    });
    expect(streamText(r.iopub)).toBe("before\n");
    expect(streamText(r.iopub, "stderr")).toMatch(/ls: cannot access '\/no\/such\/dir'/);
    expect(statusLines(r.iopub).at(-1)).toMatch(/^✖ job \d+ ended with CellScriptFailed after/);
  });

  test("a script whose job is cancelled (SIGTERM) ends SlurmCancelled, never as completed", async () => {
    const r = await kernel.execute("%%bash\necho going\nscancel $SLURM_JOB_ID\nsleep 60\necho never", {
      timeoutMs: 90_000,
    });
    expect(r.reply.content).toMatchObject({ status: "error", ename: "SlurmCancelled" });
    expect(streamText(r.iopub)).toBe("going\n");
    expect(statusLines(r.iopub).at(-1)).toMatch(/^✖ job \d+ ended with SlurmCancelled after/);
  });

  test("interrupt: the running script is stopped (KeyboardInterrupt), its job ends, the kernel carries on", async () => {
    const msgId = await kernel.startExecute("%%bash\necho started\nsleep 600\necho never");
    await kernel.waitFor(
      "the script running",
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "stream",
      60_000,
    );
    await kernel.request("interrupt_request", {}, "control");
    const reply = await kernel.reply(msgId, 60_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    expect(streamText(kernel.iopubFor(msgId))).toBe("started\n");
    const jobId = jobIdOf(kernel.iopubFor(msgId));
    const deadline = Date.now() + 30_000;
    let state = "";
    while (Date.now() < deadline) {
      state = execFileSync("sacct", ["-X", "-n", "-P", "-o", "State", "-j", jobId], {
        encoding: "utf8",
      }).trim();
      if (state && !/RUNNING|PENDING|COMPLETING/.test(state)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(state).toMatch(/^FAILED|^CANCELLED/);
    expect(streamText((await kernel.execute("print('still here')")).iopub)).toBe("still here\n");
  });

  test("#SBATCH --array in a job script: each task runs the script with its SLURM_ARRAY_TASK_ID", async () => {
    const r = await kernel.execute(
      "%%bash\n#SBATCH --array=1-3\necho task $SLURM_ARRAY_TASK_ID\n[ $SLURM_ARRAY_TASK_ID != 2 ]",
      { timeoutMs: 90_000 },
    );
    const arrayId = jobIdOf(r.iopub);
    expect(r.reply.content).toMatchObject({ status: "error", ename: "ArrayTasksFailed" });
    expect(String(r.reply.content.evalue)).toMatch(/^1 of 3 tasks of array \d+ failed: task 2/);
    expect(streamText(r.iopub)).toBe("task 1\n");
    expect(streamText((await kernel.execute(`%slurm output ${arrayId}_3`)).iopub)).toBe("task 3\n");
  });
});
