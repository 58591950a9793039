/**
 * `GET /metrics`: the server in Prometheus' text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/) — cells by state, cluster commands
 * by program, the squeue poll interval, cell output bytes, SSH reconnects. Every value is read at
 * scrape time from the counters the server keeps anyway: nothing is counted twice.
 */
import type { CellBook } from "../cells/cell-book";
import type { Transport } from "../cluster/transport";
import type { Scheduler } from "../jobs/scheduler";
import { SlurmScheduler } from "../jobs/slurm/slurm-scheduler";
import { SshTransport } from "../cluster/ssh-transport";
import { VERSION } from "../version";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: [Labels, number][];
}

/** Label values escaped as the format says: backslash, double quote, newline. */
function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sample(name: string, labels: Labels, value: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(",");
  return `${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

export function renderMetrics(metrics: Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${m.name} ${m.type}`);
    for (const [labels, value] of m.samples) lines.push(sample(m.name, labels, value));
  }
  return lines.join("\n") + "\n";
}

export interface MetricsSources {
  cells: CellBook;
  transport: Transport;
  scheduler: Scheduler;
  activity(): { connections: number; cellsInFlight: number };
  kernels(): number;
}

/** Every metric the server exports, read now. */
export function collectMetrics(src: MetricsSources): Metric[] {
  const byState = new Map<string, number>();
  for (const v of src.cells.feed.cellViews()) byState.set(v.state, (byState.get(v.state) ?? 0) + 1);
  const t = src.transport;
  const a = src.activity();
  const metrics: Metric[] = [
    {
      name: "alpine_kernel_info",
      help: "The server's version, backend and transport (value 1).",
      type: "gauge",
      samples: [[{ version: VERSION, scheduler: src.scheduler.kind, transport: t.kind }, 1]],
    },
    {
      name: "alpine_kernel_cells",
      help: "Cell jobs in flight, and those that ended in the last 24 hours, by Slurm state.",
      type: "gauge",
      samples: [...byState].sort().map(([state, n]) => [{ state }, n]),
    },
    {
      name: "alpine_kernel_cells_in_flight",
      help: "Cells queued or running, detached ones included.",
      type: "gauge",
      samples: [[{}, a.cellsInFlight]],
    },
    {
      name: "alpine_kernel_cluster_commands_total",
      help: "Commands run on the cluster since the server started, by program (sbatch, squeue, sacct, scancel...).",
      type: "counter",
      samples: [...t.commandCounts].sort().map(([command, n]) => [{ command }, n]),
    },
    {
      name: "alpine_kernel_cell_output_bytes_total",
      help: "Bytes of cell output streamed to notebooks (stream text, displays, results, errors).",
      type: "counter",
      samples: [[{}, src.cells.outputBytes]],
    },
    {
      name: "alpine_kernel_kernels",
      help: "Kernels (notebook sessions) open on this server.",
      type: "gauge",
      samples: [[{}, src.kernels()]],
    },
    {
      name: "alpine_kernel_frontend_connections",
      help: "Frontends connected to the kernels.",
      type: "gauge",
      samples: [[{}, a.connections]],
    },
    {
      name: "alpine_kernel_jobs_feed_subscribers",
      help: "Subscribers of the jobs feed (jobs panels through comms, queue pages).",
      type: "gauge",
      samples: [[{}, src.cells.feed.subscribers]],
    },
  ];
  if (src.scheduler instanceof SlurmScheduler)
    metrics.push({
      name: "alpine_kernel_squeue_poll_interval_seconds",
      help: "The wait before the next batched squeue (backs off while nothing changes; 0 when no job is watched).",
      type: "gauge",
      samples: [[{}, src.scheduler.watcher.pollIntervalMs / 1000]],
    });
  const ssh = t instanceof SshTransport ? t.state : undefined;
  metrics.push(
    {
      name: "alpine_kernel_ssh_reconnects_total",
      help: "SSH logins after the first one (the connection dropped and was opened again).",
      type: "counter",
      samples: [[{}, ssh ? Math.max(0, ssh.logins - 1) : 0]],
    },
    {
      name: "alpine_kernel_ssh_connected",
      help: "1 while the SSH connection to the cluster is up (always 1 with the local transport).",
      type: "gauge",
      samples: [[{}, ssh ? Number(ssh.status === "connected") : 1]],
    },
  );
  return metrics;
}
