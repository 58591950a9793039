/**
 * Every cell a real Slurm job: magic options reach the job, the status line moves in place, bad
 * magic lines are refused before anything is submitted, sbatch's own refusals are shown verbatim.
 * Against the real test cluster, twice: with the server running as the cluster's ordinary user
 * (local transport), and as root on "a laptop" that reaches that user over SSH — every Slurm
 * command and file operation then goes through the one ssh2 connection, unchanged.
 */
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
  type TransportKind,
} from "../helpers/slurm";

const ENV_PROBE = [
  "import os",
  "for k in ['SLURM_JOB_PARTITION', 'SLURM_JOB_ACCOUNT', 'SLURM_CPUS_PER_TASK', 'SLURM_MEM_PER_NODE', 'SLURM_MEM_PER_CPU', 'CUDA_VISIBLE_DEVICES', 'SLURM_JOB_NAME']:",
  "    print(f'{k}={os.environ.get(k, \"\")}')",
].join("\n");

function envOf(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
}

describe.each<TransportKind>(["local", "ssh"])(
  "slurm backend over the %s transport: options, status line, refusals",
  (transport) => {
    let cluster: ClusterEnv;
    let server: SlurmServer;
    let kernel: WsKernelClient;

    beforeAll(async () => {
      cluster = requireCluster();
      server = await startSlurmServer(cluster, "", undefined, { transport });
      const id = await startKernel(server, {
        KERNEL_WORKING_DIR: server.workDir,
        KERNEL_NOTEBOOK: "options.ipynb",
      });
      kernel = await WsKernelClient.open(server, id, "v1");
    });
    afterAll(async () => {
      kernel?.close();
      server?.cancelJobs();
      await server?.stop();
    });

    const run = (code: string, timeoutMs = 60_000) => kernel.execute(code, { timeoutMs });

    test("%%slurm options reach the job (partition, account, CPUs, memory, GPUs)", async () => {
      const r = await run(
        `%%slurm -p ${cluster.gpuPartition} --gres gpu:1 -c 2 --mem 1500M -A amc-general\n${ENV_PROBE}`,
      );
      expect(r.reply.content.status).toBe("ok");
      const env = envOf(streamText(r.iopub));
      expect(env).toMatchObject({
        SLURM_JOB_PARTITION: cluster.gpuPartition,
        SLURM_JOB_ACCOUNT: "amc-general",
        SLURM_CPUS_PER_TASK: "2",
        SLURM_MEM_PER_NODE: "1500",
      });
      expect(env.CUDA_VISIBLE_DEVICES).toMatch(/^\d$/);
      expect(env.SLURM_JOB_NAME).toMatch(/^ak-options-c\d+$/);
    });

    test("#SBATCH lines mean the same as %%slurm; the config's defaults and account apply otherwise", async () => {
      const r = await run(`#SBATCH --cpus-per-task=3\n#SBATCH --partition=atesting\n${ENV_PROBE}`);
      expect(r.reply.content.status).toBe("ok");
      const env = envOf(streamText(r.iopub));
      expect(env).toMatchObject({
        SLURM_CPUS_PER_TASK: "3",
        SLURM_JOB_PARTITION: "atesting",
        SLURM_MEM_PER_NODE: "1024",
        SLURM_JOB_ACCOUNT: cluster.account,
      });
      expect(env.CUDA_VISIBLE_DEVICES).toBe("");
    });

    test("%slurm sets defaults for the following cells, shows them, and resets; profiles apply", async () => {
      const set = await run("%slurm -c 2 --mem 2G");
      expect(set.reply.content.status).toBe("ok");
      const shown = set.iopub.find((m) => m.header.msg_type === "display_data");
      expect(String((shown!.content.data as Record<string, string>)["text/plain"])).toMatch(
        /--cpus-per-task 2.*--mem 2G|--mem 2G.*--cpus-per-task 2/s,
      );
      let env = envOf(streamText((await run(ENV_PROBE)).iopub));
      expect(env).toMatchObject({ SLURM_CPUS_PER_TASK: "2", SLURM_MEM_PER_NODE: "2048" });
      env = envOf(streamText((await run(`%%slurm --profile gpu\n${ENV_PROBE}`)).iopub));
      expect(env.SLURM_JOB_PARTITION).toBe(cluster.gpuPartition);
      expect(env.CUDA_VISIBLE_DEVICES).toMatch(/^\d$/);
      expect((await run("%slurm reset")).reply.content.status).toBe("ok");
      env = envOf(streamText((await run(ENV_PROBE)).iopub));
      expect(env.SLURM_CPUS_PER_TASK).toBe("");
      expect(env.SLURM_MEM_PER_NODE).toBe("1024");
    });

    test("the status line appears within a second and is updated in place to its end", async () => {
      const msgId = await kernel.startExecute("import time\ntime.sleep(2)\nprint('slept')");
      const input = await kernel.waitFor(
        "execute_input",
        (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "execute_input",
      );
      const first = await kernel.waitFor(
        "status display",
        (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "display_data",
        5000,
      );
      expect(first.at - input.at).toBeLessThan(1.0);
      const displayId = (first.content.transient as { display_id: string }).display_id;
      expect(displayId).toBeTruthy();
      expect(String((first.content.data as Record<string, string>)["text/plain"])).toMatch(
        /queued as job \d+ on acpu|job \d+ running/,
      );
      await kernel.reply(msgId, 60_000);
      await kernel.idle(msgId);
      const updates = kernel.iopubFor(msgId).filter((m) => m.header.msg_type === "update_display_data");
      expect(
        updates.every((m) => (m.content.transient as { display_id: string }).display_id === displayId),
      ).toBe(true);
      const texts = updates.map((m) => String((m.content.data as Record<string, string>)["text/plain"]));
      expect(texts.some((t) => /running on c3cpu/.test(t))).toBe(true);
      expect(texts[texts.length - 1]).toMatch(/✔ job \d+ completed in \d+(\.\d)? s · MaxRSS \d+M/);
    });

    test("bad magic lines are refused with what to do, and nothing is submitted", async () => {
      const before = (await server.metrics()).commands.sbatch ?? 0;
      const cases: [string, RegExp][] = [
        ["%%slurm -p amilan\nprint(1)", /no partition 'amilan' — did you mean 'acpu'\?/],
        ["%%slurm -p acompile -t 13:00:00\nprint(1)", /above acompile's limit of 12:00:00/],
        ["%%slurm -p acpu --gres gpu:1\nprint(1)", /no GPUs.*aa100/s],
        ["%%slurm -A nosuch\nprint(1)", /account 'nosuch'/],
        ["%%slurm --output /tmp/x.out\nprint(1)", /--output.*kernel/],
        ["%%slurm --frobnicate\nprint(1)", /--frobnicate/],
        ["%%slurm -t 1:70:00\nprint(1)", /not a Slurm time/],
        // MaxArraySize discovered from `scontrol show config` (1001 here): ids must be 0–1000.
        ["%%slurm --array 990-1010\nprint(1)", /MaxArraySize is 1001, so ids must be 0–1000/],
        ["print(1)\n%squeue", /top of a cell/],
      ];
      for (const [code, message] of cases) {
        const r = await run(code);
        expect(r.reply.content).toMatchObject({ status: "error", ename: "MagicError" });
        expect(String(r.reply.content.evalue)).toMatch(message);
        expect(String(r.reply.content.evalue)).toMatch(/nothing was submitted/);
        expect(r.iopub.some((m) => m.header.msg_type === "error")).toBe(true);
      }
      expect((await server.metrics()).commands.sbatch ?? 0).toBe(before);
    });

    test("when sbatch itself refuses, its message is shown verbatim with a hint", async () => {
      const r = await run("%%slurm --constraint nosuchfeature\nprint(1)");
      expect(r.reply.content).toMatchObject({ status: "error", ename: "SubmitError" });
      expect(String(r.reply.content.evalue)).toMatch(
        /sbatch refused the cell's job: .*Invalid feature specification/,
      );
      expect(String(r.reply.content.evalue)).toMatch(/nothing is queued/);
    });

    test("%squeue and %sacct list this notebook's cell jobs", async () => {
      const q = await run("%squeue");
      const text = String(
        (q.iopub.find((m) => m.header.msg_type === "display_data")!.content.data as Record<string, string>)[
          "text/plain"
        ],
      );
      expect(text).toMatch(/cell\s+job\s+state\s+reason\s+partition\s+elapsed\/limit\s+node\s+est\. start/);
      expect(text).toMatch(/COMPLETED/);
      const a = await run("%sacct");
      const acct = String(
        (a.iopub.find((m) => m.header.msg_type === "display_data")!.content.data as Record<string, string>)[
          "text/plain"
        ],
      );
      expect(acct).toMatch(/cell\s+job\s+state\s+exit\s+elapsed\s+MaxRSS/);
      expect(acct).toMatch(/\d+\s+\d+\s+COMPLETED\s+0:0/);
    });

    test("all of it went through the configured transport (over SSH: one connection, one login)", async () => {
      const conn = await server.connection();
      expect(conn).toMatchObject({ transport, user: cluster.user });
      if (transport === "ssh")
        expect(conn.state).toMatchObject({
          status: "connected",
          logins: 1,
          target: `${cluster.user}@127.0.0.1:${cluster.ALPINE_TEST_PORT_KEY}`,
        });
      expect((await server.metrics()).commands.sbatch).toBeGreaterThanOrEqual(7);
    });
  },
);
