/**
 * Completion from the cells' environment on the test cluster, reached from "a laptop" over SSH as
 * the cluster's ordinary user: the helper runs on the login side with `module load miniforge` and
 * `conda activate alpine-kernel` (never as a job), knows what the Slurm cells left in the namespace,
 * and when it is killed the kernel still answers at once — then the helper comes back by itself.
 */
import { execFileSync } from "node:child_process";
import { stripAnsi } from "../helpers/introspection-cases";
import { openKernel } from "../helpers/ssh";
import { requireCluster, startSlurmServer, type ClusterEnv, type SlurmServer } from "../helpers/slurm";
import type { WsKernelClient } from "../helpers/ws-client";

let cluster: ClusterEnv;
let server: SlurmServer;
let kernel: WsKernelClient;

beforeAll(async () => {
  cluster = requireCluster();
  server = await startSlurmServer(cluster, "", undefined, { transport: "ssh" });
  kernel = await openKernel(server, "complete.ipynb");
});
afterAll(async () => {
  kernel?.close();
  server?.cancelJobs();
  await server?.stop();
});

async function complete(code: string): Promise<{ matches: string[]; ms: number; status: string }> {
  const t0 = Date.now();
  const r = await kernel.request("complete_request", { code, cursor_pos: [...code].length }, "shell", 10_000);
  return { matches: r.content.matches as string[], ms: Date.now() - t0, status: String(r.content.status) };
}

async function completeUntil(code: string, want: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await complete(code);
    if (r.matches.includes(want)) return r.matches;
    if (Date.now() > deadline)
      throw new Error(`${code} never completed to ${want}: last ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** The helper processes of this server's sessions (their path is under its own work_dir). */
function helperPids(): string[] {
  try {
    return execFileSync(
      "pgrep",
      ["-u", cluster.user, "-f", `${server.workDir}/runner/.*/alpine_kernel_introspect.py`],
      {
        encoding: "utf8",
      },
    )
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

test("completion knows the Slurm cells' namespace, from the cells' environment over SSH", async () => {
  const cell = await kernel.execute(
    "import time\nimport pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\ndef area(width, height=2):\n    '''Area.'''\n    return width * height",
    { timeoutMs: 120_000 },
  );
  expect(cell.reply.content.status).toBe("ok");
  expect(await completeUntil("df.gr", "groupby", 90_000)).toEqual(["groupby"]);
  expect((await complete("time.sl")).matches).toEqual(["sleep"]);
  const r = await kernel.request("inspect_request", { code: "area(", cursor_pos: 5, detail_level: 0 });
  expect(r.content.found).toBe(true);
  expect(stripAnsi(String((r.content.data as Record<string, string>)["text/plain"]))).toMatch(
    /Signature: area\(width, height=2\)\s+Docstring: Area\./,
  );
  // One helper, owned by the cluster's user, not a job.
  const pids = helperPids();
  expect(pids).toHaveLength(1);
  const squeue = execFileSync("squeue", ["-h", "-u", cluster.user, "-o", "%o"], { encoding: "utf8" });
  expect(squeue).not.toContain("introspect");
}, 240_000);

test("a killed helper never delays a reply, and comes back by itself", async () => {
  await completeUntil("df.gr", "groupby", 60_000);
  const pids = helperPids();
  expect(pids.length).toBeGreaterThan(0);
  execFileSync("kill", ["-9", ...pids]);
  // Answered at once, from what the kernel knows without it (names, keywords, builtins).
  const during = await complete("are");
  expect(during.status).toBe("ok");
  expect(during.ms).toBeLessThan(2000);
  const names = await complete("d");
  expect(names.status).toBe("ok");
  // Back after its backoff, knowing the namespace again.
  expect(await completeUntil("df.gr", "groupby", 90_000)).toEqual(["groupby"]);
}, 240_000);
