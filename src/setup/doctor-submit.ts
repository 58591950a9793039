/**
 * `alpine-kernel doctor --submit`: one real cell, end to end, the way a notebook's would run — the
 * job script, the runner, the cells' environment, the scheduler, the events file — timed from
 * submission to its start and to its end.
 */
import { posix } from "node:path";
import { LocalTransport } from "../cluster/local-transport";
import { errorName } from "../errors";
import { NO_OFFSETS, type JobListener } from "../jobs/backend";
import { BatchBackend } from "../jobs/batch-backend";
import { diagnoseDeath } from "../jobs/diagnose";
import { LocalScheduler } from "../jobs/local/local-scheduler";
import type { Scheduler } from "../jobs/scheduler";
import { SessionFiles } from "../jobs/session-files";
import { cellEnvironment } from "../session/cell-environment";
import { CellOptions } from "../session/cell-options";
import type { ClusterSession } from "./cluster-session";
import type { CheckResult } from "./doctor";

const CODE = [
  "import os, platform, sys",
  "print('python', platform.python_version(), 'on', platform.node(), 'job', os.environ.get('SLURM_JOB_ID', '-'))",
].join("\n");

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function submitTestJob(
  cluster: ClusterSession,
  say: (line: string) => void,
): Promise<CheckResult> {
  const { config, transport } = cluster;
  const slurm = config.backend === "slurm";
  const scheduler: Scheduler = slurm
    ? cluster.scheduler
    : new LocalScheduler(transport instanceof LocalTransport ? transport : new LocalTransport());
  const workDir = await transport.resolvePath(config.work_dir);
  const sessionDir = posix.join(workDir, `doctor-${Date.now()}`);
  const files = new SessionFiles(transport, {
    notebookDir: config.cluster.notebook_dir,
    workDir: config.work_dir,
  });
  const { setup } = cellEnvironment(config, {});
  const backend = new BatchBackend(transport, scheduler, files, {
    environment: setup,
    workDir: config.work_dir,
    umask: config.environment.umask,
  });
  const options = slurm ? await new CellOptions(config, cluster.discovery).effective(undefined) : undefined;
  // A short limit: a test job should never hold a node for long.
  const sbatch = [...(options?.sbatch.filter(([k]) => k !== "--time") ?? []), ["--time", "0:05:00"] as const];
  const t0 = Date.now();
  const job = await backend.submit({
    sessionId: "doctor",
    sessionDir,
    notebook: "doctor",
    workDir: sessionDir,
    seq: 1,
    executionCount: 1,
    code: CODE,
    silent: true,
    storeHistory: false,
    allowStdin: false,
    detached: false,
    sbatch,
    environment: setup,
  });
  const submitted = Date.now();
  say(`  test job ${job.jobId} submitted${options?.partition ? ` to ${options.partition}` : ""} …`);
  let started = 0;
  let printed = "";
  const listener: JobListener = {
    onEvent: (ev) => {
      if (ev.type === "start") started ||= Date.now();
      if (ev.type === "stream") printed += ev.text;
    },
    onOutput: () => {},
    onStatus: (s) => {
      if (s.state === "RUNNING") started ||= Date.now();
    },
    onOffsets: () => {},
    onEnding: () => {},
    onTrouble: () => {},
  };
  const outcome = await backend.follow(job, NO_OFFSETS, listener).done;
  const end = Date.now();
  await transport.remove(sessionDir).catch(() => {});
  const timing = `submitted in ${seconds(submitted - t0)}, running ${seconds((started || end) - submitted)} later, done ${seconds(end - (started || end))} after that; ${seconds(end - t0)} in all`;
  if (outcome.kind === "ended" && outcome.status === "ok")
    return { name: "test job", verdict: "ok", detail: `job ${job.jobId}: ${printed.trim()} — ${timing}` };
  const failure =
    outcome.kind === "died"
      ? diagnoseDeath(outcome.final, outcome.started, outcome.stderrTail, options?.requested)
      : {
          name: errorName("COMMAND_FAILED"),
          message: `the test cell raised: ${printed.trim()}`,
          details: [],
        };
  return {
    name: "test job",
    verdict: "fail",
    detail: `job ${job.jobId} ${failure.name}: ${failure.message}${failure.details.length ? `\n${failure.details.join("\n")}` : ""}`,
  };
}
