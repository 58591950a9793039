/**
 * Service units before and after: the status line's estimate of a cell's request (its time limit
 * at the partition's billing weights, GPUs and memory weighted) is what Slurm's accounting bills the
 * same job, and %sacct's SU column is sacct's billing × elapsed. Against the test cluster's
 * Alpine-like TRESBillingWeights (scripts/test-cluster/up.sh): CPU=1 (acpu), GRES/gpu=108.2 (aa100),
 * Mem=0.25G (amem).
 */
import { execFileSync } from "node:child_process";
import { formatServiceUnits, serviceUnits } from "../../src/jobs/slurm/billing";
import { parseSlurmDuration } from "../../src/jobs/slurm/slurm-time";
import { requireCluster, startSlurmServer, type ClusterEnv, type SlurmServer } from "../helpers/slurm";
import { openKernel } from "../helpers/ssh";
import type { WsKernelClient } from "../helpers/ws-client";

/** What accounting says of a job: its billing TRES, time limit and elapsed seconds. */
function sacct(jobId: string): { billing: number; limit: number; elapsed: number } {
  for (let i = 0; i < 50; i++) {
    const row = execFileSync(
      "sacct",
      ["-X", "-P", "-n", "-j", jobId, "--format=AllocTRES,Timelimit,Elapsed,State"],
      {
        encoding: "utf8",
      },
    ).trim();
    const [tres = "", limit = "", elapsed = "", state = ""] = row.split("|");
    const billing = /(?:^|,)billing=(\d+)/.exec(tres)?.[1];
    // Right after a job ends its record may still lack the time limit: ask again.
    if (billing && limit && !/RUNNING|PENDING|COMPLETING/.test(state))
      return {
        billing: Number(billing),
        limit: parseSlurmDuration(limit)!,
        elapsed: parseSlurmDuration(elapsed)!,
      };
    execFileSync("sleep", ["0.2"]);
  }
  throw new Error(`sacct has no final record of job ${jobId}`);
}

describe("service units: the estimate is what Slurm bills", () => {
  let cluster: ClusterEnv;
  let server: SlurmServer;
  let kernel: WsKernelClient;

  beforeAll(async () => {
    cluster = requireCluster();
    server = await startSlurmServer(cluster);
    kernel = await openKernel(server, "billing.ipynb");
  });
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
  });

  /** Runs a cell; returns its job id, every status text it showed, and the estimate in it. */
  async function cell(magic: string) {
    const r = await kernel.execute(`${magic}\nimport time; time.sleep(1)`, { timeoutMs: 90_000 });
    expect(r.reply.content.status).toBe("ok");
    const texts = r.iopub
      .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
      .map((m) => String((m.content.data as Record<string, string>)["text/plain"]).split("\n")[0]!);
    const jobId = /job (\d+)/.exec(texts[0] ?? "")?.[1];
    const est = texts.map((t) => /· est\. ≤ (\S+) SU \((\d+)\/h\)/.exec(t)).find(Boolean);
    expect({ jobId, est: Boolean(est) }).toEqual({ jobId: expect.stringMatching(/^\d+$/), est: true });
    return { jobId: jobId!, texts, estimate: est![1]!, rate: Number(est![2]) };
  }

  test.each([
    [
      "aa100, 2 CPUs and a GPU: 2 + 108.2 = 110.2, billed 110",
      "%%slurm -p aa100 --gres gpu:1 -c 2 -t 0:10:00",
      110,
    ],
    ["amem, 3 CPUs and 7G: 3 + 7 × 0.25 = 4.75, billed 4", "%%slurm -p amem -c 3 --mem 7G -t 0:20:00", 4],
    ["acpu by default, 4 CPUs", "%%slurm -c 4 -t 0:06:00", 4],
  ])(
    "%s",
    async (_what, magic, expected) => {
      const { jobId, texts, estimate, rate } = await cell(magic);
      const billed = sacct(jobId);
      expect(rate).toBe(billed.billing);
      expect(rate).toBe(expected);
      // The estimate: the whole time limit at that rate, as sacct's record prices it.
      expect(estimate + " SU").toBe(formatServiceUnits(serviceUnits(billed.billing, billed.limit)));
      // The end: what it used, at the same rate.
      expect(texts[texts.length - 1]).toMatch(/^✔ job \d+ completed in (\d+(\.\d)? s|\d+:\d\d) .*· \S+ SU$/);
      // %sacct: the SUs accounting billed (billing × elapsed).
      const acct = await kernel.execute(`%sacct ${jobId}`, { timeoutMs: 30_000 });
      const table = String(
        (
          acct.iopub.find((m) => m.header.msg_type === "display_data")!.content.data as Record<string, string>
        )["text/plain"],
      );
      expect(table).toMatch(/\bSU\b/);
      const row = table.split("\n").find((l) => l.includes(` ${jobId} `))!;
      const used = formatServiceUnits(serviceUnits(billed.billing, billed.elapsed)).replace(/ SU$/, "");
      expect(row.trimEnd().endsWith(`  ${used}`)).toBe(true);
    },
    120_000,
  );
});
