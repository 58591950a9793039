/**
 * Restart and shutdown of a kernel on the slurm backend: the kernel's running and queued cells are
 * cancelled (their jobs end CANCELLED in Slurm's accounting), detached cells keep running and the
 * kernel says so.
 */
import { execFileSync } from "node:child_process";
import { auth, startKernel, WsKernelClient } from "../helpers/ws-client";
import {
  cancelUserJobs,
  requireCluster,
  startSlurmServer,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";

const jobState = (id: string) =>
  execFileSync("sacct", ["-X", "-n", "-P", "-o", "State", "-j", id], { encoding: "utf8" })
    .trim()
    .split(" ")[0] ?? "";
const squeueState = (id: string) =>
  execFileSync("squeue", ["-h", "-o", "%T", "-j", id], { encoding: "utf8" }).trim();

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("slurm backend: restart and shutdown", () => {
  let cluster: ClusterEnv;
  let server: SlurmServer;

  beforeAll(async () => {
    cluster = requireCluster();
    server = await startSlurmServer(cluster);
  });
  afterAll(async () => {
    await server?.stop();
    if (cluster) cancelUserJobs(cluster);
  });

  const jobOf = async (k: WsKernelClient, msgId: string) => {
    const m = await k.waitFor(
      "a status line",
      (x) => x.parent_header.msg_id === msgId && /job (\d+)/.test(JSON.stringify(x.content.data ?? "")),
      20_000,
    );
    return /job (\d+)/.exec(JSON.stringify(m.content.data))![1]!;
  };

  test("restart cancels the running cell's job; a detached cell keeps running and is named", async () => {
    const id = await startKernel(server, {
      KERNEL_WORKING_DIR: server.workDir,
      KERNEL_NOTEBOOK: "restart.ipynb",
    });
    const k = await WsKernelClient.open(server, id, "v1");
    const detached = await k.execute("%%slurm --detach\nimport time\ntime.sleep(20)\nprint('still here')");
    const detachedJob = /job (\d+)/.exec(
      JSON.stringify(detached.iopub.find((m) => m.header.msg_type === "display_data")!.content.data),
    )![1]!;
    const running = await k.startExecute("import time\nprint('working', flush=True)\ntime.sleep(600)");
    const runningJob = await jobOf(k, running);
    await k.waitFor(
      "the cell running",
      (m) => m.parent_header.msg_id === running && m.header.msg_type === "stream",
      30_000,
    );

    const res = await fetch(`${server.url}/api/kernels/${id}/restart`, {
      method: "POST",
      headers: auth(server),
    });
    expect(res.status).toBe(200);
    const reply = await k.reply(running, 60_000);
    expect(reply.content.status).toBe("error");
    await until(`job ${runningJob} to be cancelled`, () => jobState(runningJob) === "CANCELLED");
    expect(squeueState(detachedJob)).toMatch(/RUNNING|PENDING/);
    const note = k.received.find(
      (m) =>
        m.header.msg_type === "stream" &&
        String(m.content.text).includes(`detached job(s) ${detachedJob} keep running`),
    );
    expect(note).toBeDefined();
    // After the restart the detached cell still ends and shows its output.
    await k.waitFor(
      "the detached output",
      (m) => m.header.msg_type === "update_display_data" && /still here/.test(JSON.stringify(m.content.data)),
      60_000,
    );
    k.close();
  }, 120_000);

  test("shutdown (DELETE) cancels the kernel's queued cell", async () => {
    const id = await startKernel(server, {
      KERNEL_WORKING_DIR: server.workDir,
      KERNEL_NOTEBOOK: "shutdown.ipynb",
    });
    const k = await WsKernelClient.open(server, id, "v1");
    const queued = await k.startExecute("%%slurm --begin now+1hour\nprint('never')");
    const jobId = await jobOf(k, queued);
    expect(squeueState(jobId)).toBe("PENDING");
    const res = await fetch(`${server.url}/api/kernels/${id}`, { method: "DELETE", headers: auth(server) });
    expect(res.status).toBe(204);
    await until(`job ${jobId} to be cancelled`, () => jobState(jobId) === "CANCELLED");
    k.close();
  }, 60_000);
});
