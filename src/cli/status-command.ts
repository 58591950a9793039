/** `alpine-kernel status` and `alpine-kernel stop` */
import { findServer, authHeaders } from "../kernel/server-connection";
import { runtimeFilePath } from "../config/runtime-file";
import { processAlive } from "../process-alive";
import type { ConnectionView, KernelModel, ServerMetrics } from "../server/api-types";

export async function statusCommand(): Promise<number> {
  const info = await findServer();
  if (!info) {
    console.log(
      `No alpine-kernel server is running (no live server in ${runtimeFilePath()}). Jupyter starts one when a notebook opens.`,
    );
    return 3;
  }
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${info.url}${path}`, { headers: authHeaders(info) });
    if (!res.ok) throw new Error(`the server answered ${res.status} to ${path}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const kernels = await get<KernelModel[]>("/api/kernels");
  const metrics = await get<ServerMetrics>("/api/metrics");
  const conn = await get<ConnectionView>("/api/connection");
  console.log(
    `server     ${info.url}  pid ${info.pid}  version ${info.version}  backend ${info.backend}  since ${info.started}`,
  );
  const c = conn.state;
  console.log(
    conn.transport === "ssh"
      ? `cluster    ssh ${c.target}: ${c.status}${c.since ? ` since ${c.since}` : ""}, ${c.logins} login(s)${c.lastError ? ` — ${c.lastError}` : ""}${conn.prompts.length ? " — a login prompt is waiting: run `alpine-kernel login`" : ""}`
      : `cluster    this machine (local transport), user ${conn.user}`,
  );
  console.log(`kernels    ${kernels.length}   cells in flight ${metrics.cellsInFlight}`);
  for (const k of kernels)
    console.log(
      `  ${k.id}  ${k.execution_state.padEnd(5)}  ${k.connections} connection(s)  last activity ${k.last_activity}`,
    );
  const cmds = Object.entries(metrics.commands)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  console.log(`commands   ${cmds || "none yet"}`);
  return 0;
}

export async function stopCommand(): Promise<number> {
  const info = await findServer();
  if (!info) {
    console.log("No alpine-kernel server is running.");
    return 0;
  }
  process.kill(info.pid, "SIGTERM");
  for (let i = 0; i < 100 && processAlive(info.pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (processAlive(info.pid)) {
    console.log(`server pid ${info.pid} did not stop within 10 s`);
    return 1;
  }
  console.log(
    `stopped the server (pid ${info.pid}); cells still running on the cluster are picked up by the next server`,
  );
  return 0;
}
