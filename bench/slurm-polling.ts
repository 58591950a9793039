/**
 * Slurm commands per minute with 1, 20 and 200 cells held pending (`--begin now+1hour`, detached):
 * the watcher's one batched squeue must keep the load flat — target ≤ 4 per minute after the first
 * minute. The 1-cell case is the baseline the others are compared with. Uses the production polling
 * settings (1 s backing off to 30 s). Takes about 3 × (1 + BENCH_MINUTES) minutes.
 */
import {
  cancelUserJobs,
  requireCluster,
  startKernel,
  startSlurmServer,
  WsKernelClient,
} from "./lib/slurm-server";
import { sleep } from "./lib/harness";

const MINUTES = Number(process.env.BENCH_MINUTES ?? 2);

async function measure(
  cells: number,
): Promise<{ cells: number; firstMinute: number; perMinute: number; sacct: number }> {
  const cluster = requireCluster();
  cancelUserJobs(cluster);
  // production polling: the defaults (1 s → 30 s), not the fast test settings
  const server = await startSlurmServer(cluster, "", undefined, { productionPolling: true });
  const id = await startKernel(server, {
    KERNEL_WORKING_DIR: server.workDir,
    KERNEL_NOTEBOOK: `poll-${cells}.ipynb`,
  });
  const kernel = await WsKernelClient.open(server, id, "v1");
  const count = async () => {
    const m = await server.metrics();
    return Object.entries(m.commands)
      .filter(([k]) => ["squeue", "sacct", "scontrol", "sinfo", "sacctmgr"].includes(k))
      .reduce((a, [, v]) => a + v, 0);
  };
  for (let i = 0; i < cells; i++) {
    const r = await kernel.execute("%%slurm --detach --begin now+1hour\nprint('held')", {
      timeoutMs: 30_000,
    });
    if (r.reply.content.status !== "ok") throw new Error(JSON.stringify(r.reply.content));
  }
  const c0 = await count();
  await sleep(60_000);
  const c1 = await count();
  await sleep(MINUTES * 60_000);
  const c2 = await count();
  const sacct = (await server.metrics()).commands.sacct ?? 0;
  await kernel.execute("%scancel --all", { timeoutMs: 120_000 });
  kernel.close();
  await server.stop();
  cancelUserJobs(cluster);
  return { cells, firstMinute: c1 - c0, perMinute: (c2 - c1) / MINUTES, sacct };
}

async function main(): Promise<void> {
  const rows = [];
  for (const n of [1, 20, 200]) rows.push(await measure(n));
  const base = rows[0]!.perMinute || 1;
  console.log(
    `\nSlurm queries per minute with cells held pending (squeue/sacct/scontrol/sinfo/sacctmgr; ${MINUTES} min measured after the first)`,
  );
  console.log("| pending cells | first minute | per minute after | ratio to 1 cell | sacct calls |");
  console.log("|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.cells} | ${r.firstMinute} | ${r.perMinute.toFixed(1)} | ${(r.perMinute / base).toFixed(2)}× | ${r.sacct} |`,
    );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
