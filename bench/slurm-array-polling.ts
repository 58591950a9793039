/**
 * Slurm commands per minute with a 1000-task array held pending (`%%slurm --array 0-999 --begin
 * now+1hour --detach`) against one plain cell held the same way, the baseline, measured in the same
 * run: the array's tasks must cost one batched squeue per tick like a single job, with no per-task
 * command and no per-task file read. Production polling settings (1 s backing off to 30 s).
 * Then the held job is cancelled (`%scancel`) and what settling its end costs is counted for 30 s:
 * a task cancelled while pending has no files and no record of its own, so the array's end costs
 * its file reads and the shared sacct of the array. Cancels only its own jobs. Takes about
 * 2 × (1.5 + BENCH_MINUTES) minutes.
 */
import { requireCluster, startKernel, startSlurmServer, WsKernelClient } from "./lib/slurm-server";
import { sleep } from "./lib/harness";

const MINUTES = Number(process.env.BENCH_MINUTES ?? 2);
const SLURM_COMMANDS = ["squeue", "sacct", "scontrol", "sinfo", "sacctmgr", "scancel", "sbatch"];

interface Row {
  what: string;
  firstMinute: number;
  perMinute: number;
  squeuePerMinute: number;
  fileReadsPerMinute: number;
  /** In the 30 s after %scancel: every Slurm command, sacct alone, file reads. */
  cancel: { commands: number; sacct: number; reads: number };
}

const SETTLE_MS = 30_000;

async function measure(what: string, cell: string): Promise<Row> {
  const cluster = requireCluster();
  const server = await startSlurmServer(cluster, "", undefined, { productionPolling: true });
  try {
    const id = await startKernel(server, {
      KERNEL_WORKING_DIR: server.workDir,
      KERNEL_NOTEBOOK: "array-poll.ipynb",
    });
    const kernel = await WsKernelClient.open(server, id, "v1");
    const snapshot = async () => {
      const m = await server.metrics();
      const of = (names: string[]) => names.reduce((a, k) => a + (m.commands[k] ?? 0), 0);
      return {
        all: of(SLURM_COMMANDS),
        squeue: of(["squeue"]),
        sacct: of(["sacct"]),
        reads: Object.values(m.fileOps).reduce((a, b) => a + b, 0),
      };
    };
    const r = await kernel.execute(cell, { timeoutMs: 60_000 });
    if (r.reply.content.status !== "ok") throw new Error(JSON.stringify(r.reply.content));
    const s0 = await snapshot();
    await sleep(60_000);
    const s1 = await snapshot();
    await sleep(MINUTES * 60_000);
    const s2 = await snapshot();
    const c = await kernel.execute("%scancel --all", { timeoutMs: 120_000 });
    if (c.reply.content.status !== "ok") throw new Error(JSON.stringify(c.reply.content));
    await sleep(SETTLE_MS);
    const s3 = await snapshot();
    kernel.close();
    return {
      what,
      firstMinute: s1.all - s0.all,
      perMinute: (s2.all - s1.all) / MINUTES,
      squeuePerMinute: (s2.squeue - s1.squeue) / MINUTES,
      fileReadsPerMinute: (s2.reads - s1.reads) / MINUTES,
      cancel: { commands: s3.all - s2.all, sacct: s3.sacct - s2.sacct, reads: s3.reads - s2.reads },
    };
  } finally {
    server.cancelJobs();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const rows = [
    await measure("1 cell (baseline)", "%%slurm --detach --begin now+1hour\nprint('held')"),
    await measure("1 array of 1000 tasks", "%%slurm --array 0-999 --begin now+1hour --detach\nx = task_id"),
  ];
  const base = rows[0]!.perMinute || 1;
  console.log(
    `\nSlurm commands per minute held pending (${SLURM_COMMANDS.join("/")}; ${MINUTES} min measured after the first)`,
  );
  console.log(
    "| held pending | first minute | per minute after | ratio to 1 cell | squeue/min | file reads/min | after %scancel (30 s): commands / sacct / file reads |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.what} | ${r.firstMinute} | ${r.perMinute.toFixed(1)} | ${(r.perMinute / base).toFixed(2)}× | ${r.squeuePerMinute.toFixed(1)} | ${r.fileReadsPerMinute.toFixed(1)} | ${r.cancel.commands} / ${r.cancel.sacct} / ${r.cancel.reads} |`,
    );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
