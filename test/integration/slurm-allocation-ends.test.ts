/**
 * How a held allocation ends, and what survives it, on the test cluster: its time limit reached
 * while a cell runs (the namespace was saved ahead of it and goes to the next cell — a job of its
 * own, or a new allocation with slurm.allocation.after_end: reallocate), the holder cancelled from
 * outside mid-cell (the namespace saved on SIGTERM goes on), a server killed with -9
 * while a cell runs in it (re-attached, every line once), `%slurm extend` where Slurm refuses, and
 * a profile whose cells run in an allocation (profiles.NAME.allocate: true).
 * The time-limit cells take Slurm two to three minutes: they start first, in servers of their own,
 * and are checked last.
 */
import { execFileSync } from "node:child_process";
import { allocate, displays, openKernel, squeueState } from "../helpers/allocation";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";
import { WsKernelClient } from "../helpers/ws-client";

/** Extra keys under `slurm:` (slurmConfig's last section): a profile that allocates, the allocation's timing. */
const allocationConfig = (cluster: ClusterEnv, afterEnd: string) =>
  [
    "    interactive:",
    `      options: "-p ${cluster.gpuPartition} --mem 500M --time 0:10:00"`,
    "      allocate: true",
    "  allocation:",
    `    after_end: ${afterEnd}`,
    "    save_ahead_seconds: 60",
    "    warn_ahead_seconds: 100",
  ].join("\n");

let cluster: ClusterEnv;
/** A kernel whose allocation reaches its time limit under a running cell. */
interface Ending {
  server: SlurmServer;
  k: WsKernelClient;
  holder: string;
  allocateMsg: string;
  longMsg: string;
}
const endings = new Map<string, Ending>();

beforeAll(async () => {
  cluster = requireCluster();
  await Promise.all(
    ["per-cell", "reallocate"].map(async (afterEnd) => {
      const server = await startSlurmServer(cluster, allocationConfig(cluster, afterEnd));
      const { k } = await openKernel(server, `ends-${afterEnd}.ipynb`);
      const { holder, msgId: allocateMsg } = await allocate(
        k,
        `-p ${cluster.gpuPartition} --time 2 --mem 500M`,
      );
      await k.execute("x = 42");
      const longMsg = await k.startExecute("import time\nprint('long', flush=True)\ntime.sleep(600)");
      endings.set(afterEnd, { server, k, holder, allocateMsg, longMsg });
    }),
  );
}, 600_000);
afterAll(async () => {
  for (const { server, k } of endings.values()) {
    k.close();
    server.cancelJobs();
    await server.stop();
  }
});

describe("one server, quick cases", () => {
  let server: SlurmServer;
  beforeAll(async () => {
    server = await startSlurmServer(cluster, allocationConfig(cluster, "per-cell"));
  });
  afterAll(async () => {
    server?.cancelJobs();
    await server?.stop();
  });

  test("the server killed with -9 while a cell runs in the allocation: re-attached, every line once, the allocation lives on", async () => {
    const { k, id } = await openKernel(server, "restart.ipynb");
    const { holder } = await allocate(k, `-p ${cluster.gpuPartition} --time 0:10:00 --mem 500M`);
    const before = await k.execute("import os, time\npid = os.getpid()\nx = 1");
    expect(before.reply.content.status).toBe("ok");
    const N = 25;
    const msgId = await k.startExecute(
      `for i in range(${N}):\n    print(f'line {i}', flush=True)\n    time.sleep(0.25)\nx += 1`,
    );
    const lines = (c: WsKernelClient) => streamText(c.iopubFor(msgId));
    await k.waitFor("a few lines", () => lines(k).split("\n").length > 5, 30_000);
    const seenBefore = lines(k);
    k.close();
    server = await server.killAndRestart();
    const again = await WsKernelClient.open(server, id, "v1");
    const reply = await again.reply(msgId, 60_000);
    expect(reply.content.status).toBe("ok");
    const got = seenBefore + lines(again);
    const expected = Array.from({ length: N }, (_, i) => `line ${i}\n`).join("");
    expect(got).toBe(expected);
    const after = await again.execute("print(os.getpid() == pid, x, os.environ['SLURM_JOB_ID'])");
    expect(streamText(after.iopub)).toBe(`True 2 ${holder}\n`);
    again.close();
  }, 300_000);

  test("the holder cancelled from outside while a cell runs: the cell ends saying so, the next runs as a job from the namespace saved on SIGTERM", async () => {
    const { k } = await openKernel(server, "scancel.ipynb");
    const { holder, msgId: allocateMsg } = await allocate(
      k,
      `-p ${cluster.gpuPartition} --time 0:10:00 --mem 500M`,
    );
    await k.execute("x = 7");
    const msgId = await k.startExecute("import time\nprint('long', flush=True)\ntime.sleep(300)");
    await k.waitFor(
      "the cell running",
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "stream",
      30_000,
    );
    execFileSync("runuser", ["-u", cluster.user, "--", "scancel", holder]);
    const reply = await k.reply(msgId, 120_000);
    expect(reply.content.status).toBe("error");
    expect(String(reply.content.evalue)).toMatch(
      new RegExp(`allocation ${holder} ended while this cell ran \\(it was cancelled\\)`),
    );
    expect(displays(k.iopubFor(allocateMsg)).pop()).toMatch(
      new RegExp(`^■ allocation ${holder} ended: it was cancelled at \\d\\d:\\d\\d`),
    );
    const next = await k.execute("import os\nprint(os.environ['SLURM_JOB_ID'], x)", { timeoutMs: 120_000 });
    const [job, x] = streamText(next.iopub).trim().split(" ");
    expect(job).not.toBe(holder);
    expect(x).toBe("7");
    k.close();
  }, 300_000);

  test("%slurm extend: Slurm lets only administrators raise a limit, and the kernel says so with Slurm's words", async () => {
    const { k } = await openKernel(server, "extend.ipynb");
    await allocate(k, `-p ${cluster.gpuPartition} --time 0:05:00 --mem 500M`);
    const r = await k.execute("%slurm extend 0:30:00");
    expect(r.reply.content).toMatchObject({ status: "error", ename: "ExtendRefused" });
    expect(String(r.reply.content.evalue)).toMatch(
      /Slurm refused to extend allocation \d+: Access\/permission denied.*only its operators and administrators raise a running job's time limit \(on Alpine too\)/,
    );
    const bad = await k.execute("%slurm extend soon");
    expect(bad.reply.content).toMatchObject({ status: "error", ename: "MagicError" });
    expect(String(bad.reply.content.evalue)).toContain("usage: %slurm extend DURATION");
    k.close();
  }, 300_000);

  test("a profile with allocate: true holds an allocation for its cells; a cell it cannot hold runs as its own job", async () => {
    const { k } = await openKernel(server, "profile.ipynb");
    const first = await k.execute(
      "%%slurm --profile interactive\nimport os\nprint(os.getpid(), os.environ['SLURM_JOB_ID'])",
      {
        timeoutMs: 240_000,
      },
    );
    expect(first.reply.content.status).toBe("ok");
    expect(streamText(first.iopub, "stderr")).toMatch(/profile interactive runs cells in a held allocation/);
    const [pid, job] = streamText(first.iopub).trim().split(" ");
    const second = await k.execute(
      "%%slurm --profile interactive\nprint(os.getpid(), os.environ['SLURM_JOB_ID'])",
    );
    expect(streamText(second.iopub)).toBe(`${pid} ${job}\n`);
    const gpu = await k.execute(
      "%%slurm --profile interactive --gres gpu:1\nprint(os.environ['SLURM_JOB_ID'])",
      {
        timeoutMs: 120_000,
      },
    );
    expect(streamText(gpu.iopub).trim()).not.toBe(job);
    expect(displays(gpu.iopub).pop()).toContain(
      `not in allocation ${job}: it asks for a GPU; allocation ${job} has none`,
    );
    k.close();
  }, 400_000);
});

describe.each(["per-cell", "reallocate"])(
  "the time limit reached while a cell runs (after_end: %s)",
  (afterEnd) => {
    test("warned ahead, the namespace saved ahead, the cell ends with why, the next cell gets the namespace", async () => {
      const e = endings.get(afterEnd)!;
      const reply = await e.k.reply(e.longMsg, 360_000);
      expect(reply.content).toMatchObject({ status: "error", ename: "SlurmTimeout" });
      expect(String(reply.content.evalue)).toMatch(
        new RegExp(
          `allocation ${e.holder} ended while this cell ran \\(it reached its time limit\\)\\. .* from the namespace saved at \\d\\d:\\d\\d:\\d\\d \\(\\d+ names?\\)`,
        ),
      );
      const said = streamText(e.k.iopubFor(e.longMsg), "stderr");
      expect(said).toMatch(
        new RegExp(`allocation ${e.holder} ends in 2 min \\(at \\d\\d:\\d\\d\\): its namespace is saved at`),
      );
      expect(said).toContain(
        "Slurm lets only its operators and administrators raise a running job's time limit",
      );
      const line = displays(e.k.iopubFor(e.allocateMsg)).pop()!;
      expect(line).toMatch(
        new RegExp(
          `^■ allocation ${e.holder} ended: it reached its time limit at \\d\\d:\\d\\d · namespace saved at`,
        ),
      );
      expect(squeueState(e.holder)).toBe("");

      const next = await e.k.execute("import os\nprint(os.environ['SLURM_JOB_ID'], x)", {
        timeoutMs: 240_000,
      });
      expect(next.reply.content.status).toBe("ok");
      const [job, x] = streamText(next.iopub).trim().split(" ");
      expect(x).toBe("42");
      expect(job).not.toBe(e.holder);
      const last = displays(next.iopub).pop()!;
      if (afterEnd === "per-cell") expect(last).toMatch(new RegExp(`^✔ job ${job} completed`));
      else {
        expect(streamText(next.iopub, "stderr")).toContain(
          `allocation ${e.holder} has ended; asking for a new one with the same options`,
        );
        expect(last).toMatch(new RegExp(`^✔ in allocation ${job} on \\S+`));
      }
    }, 420_000);
  },
);
