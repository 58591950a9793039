/**
 * The ssh transport against the local one, measured in the same run on the test cluster:
 *  1. a trivial cell, submit → result;
 *  2. SSH round trips per trivial cell: the deltas of GET /api/metrics `commands` (each an exec
 *     channel) and `fileOps` (each an SFTP request) over one cell, watcher polls included;
 *  3. print on the compute node → stream message at the client (target over SSH: p50 ≤ 400 ms);
 *  4. login → connected: POST /api/connection/login until GET /api/connection says connected, by
 *     key (2222) and by password + one-time code answered at once through the REST API (2223);
 *     the local transport's answer to the same request is the baseline.
 * The local-transport server runs as the cluster's user (as on Alpine itself); the ssh ones run as
 * root on "the laptop" and reach that user through the test sshd.
 */
import { spawnSync } from "node:child_process";
import { CLI, median, percentile, report, sleep, type Row } from "./lib/harness";
import {
  requireCluster,
  startKernel,
  startSlurmServer,
  WsKernelClient,
  type SlurmServer,
} from "./lib/slurm-server";
import { totpCode } from "../test/helpers/ssh";

const N = Number(process.env.BENCH_N ?? 10);
const LINES = Number(process.env.BENCH_LINES ?? 40);

type Server = SlurmServer & { kernel: WsKernelClient; name: string };

async function open(name: string, server: SlurmServer): Promise<Server> {
  const id = await startKernel(server, {
    KERNEL_WORKING_DIR: server.workDir,
    KERNEL_NOTEBOOK: `bench-${name}.ipynb`,
  });
  return Object.assign(server, { kernel: await WsKernelClient.open(server, id, "v1"), name });
}

async function trivialCell(s: Server): Promise<number> {
  const t0 = performance.now();
  const r = await s.kernel.execute("1 + 1", { timeoutMs: 60_000 });
  if (r.reply.content.status !== "ok") throw new Error(`${s.name}: ${JSON.stringify(r.reply.content)}`);
  return performance.now() - t0;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** Print → stream latency: the cell prints its own clock; the client stamps arrival (same machine's clock). */
async function printLatency(s: Server): Promise<number[]> {
  const arrival = new Map<number, number>();
  const stamp = () => arrival.set(s.kernel.received.length - 1, Date.now());
  s.kernel.ws.on("message", stamp);
  const msgId = await s.kernel.startExecute(
    `import time\nfor i in range(${LINES}):\n    print(f'{time.time():.4f}', flush=True)\n    time.sleep(0.2)`,
  );
  await s.kernel.reply(msgId, 120_000);
  s.kernel.ws.off("message", stamp);
  const lat: number[] = [];
  s.kernel.received.forEach((m, i) => {
    if (m.parent_header.msg_id !== msgId || m.header.msg_type !== "stream") return;
    for (const line of String(m.content.text).split("\n"))
      if (/^\d+\.\d{4}$/.test(line)) lat.push(arrival.get(i)! - Number(line) * 1000);
  });
  return lat;
}

interface Connection {
  version: number;
  state: { status: string; lastError?: string };
  prompts: { id: string; request: { prompts: { prompt: string }[] } }[];
}

/** POST /api/connection/login, answering prompts at once with `answer`, until connected. */
async function login(s: SlurmServer, answer: (prompt: string) => string = () => ""): Promise<number> {
  const headers = { Authorization: `token ${s.token}` };
  const call = async (method: string, path: string, body?: unknown): Promise<Connection> => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: { ...headers, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return (await res.json()) as Connection;
  };
  if (s.transport === "ssh") await call("POST", "/api/connection/logout");
  const answered = new Set<string>();
  const t0 = performance.now();
  let view = await call("POST", "/api/connection/login");
  for (;;) {
    for (const p of view.prompts.filter((q) => !answered.has(q.id))) {
      answered.add(p.id);
      await call("POST", `/api/connection/prompts/${p.id}`, {
        answers: p.request.prompts.map((q) => answer(q.prompt)),
      });
    }
    if (view.state.status === "connected" && view.prompts.length === 0) return performance.now() - t0;
    if (view.state.status === "failed") throw new Error(`login failed: ${view.state.lastError}`);
    view = await call("GET", `/api/connection/prompts?wait=25&since=${view.version}`);
  }
}

function cliLogin(s: SlurmServer): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, "login", "--timeout", "60"], {
    env: s.cliEnv,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) throw new Error(`alpine-kernel login failed: ${r.stdout}${r.stderr}`);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const cluster = requireCluster();
  const local = await open("local", await startSlurmServer(cluster));
  const ssh = await open("ssh", await startSlurmServer(cluster, "", undefined, { transport: "ssh" }));
  const twoFactor = await startSlurmServer(cluster, "", undefined, {
    transport: "ssh",
    ssh: { host: "alpine-test-2fa" },
  });
  const servers = [local, ssh];
  try {
    for (const s of servers) for (let i = 0; i < 2; i++) await trivialCell(s); // warm up: runner copied, discovery cached

    // 1 + 2. Trivial cells, interleaved; the cluster load of each one.
    const cell: Record<string, Row> = {
      local: { name: "trivial cell, local transport", samples: [] },
      ssh: { name: "trivial cell, ssh transport", samples: [] },
    };
    const trips: Record<string, { commands: number[]; fileOps: number[]; kinds: Record<string, number> }> =
      {};
    for (const s of servers) trips[s.name] = { commands: [], fileOps: [], kinds: {} };
    for (let i = 0; i < N; i++) {
      for (const s of servers) {
        const before = await s.metrics();
        cell[s.name]!.samples.push(await trivialCell(s));
        const after = await s.metrics();
        const t = trips[s.name]!;
        t.commands.push(total(after.commands) - total(before.commands));
        t.fileOps.push(total(after.fileOps) - total(before.fileOps));
        if (i === N - 1)
          t.kinds = { ...diff(after.commands, before.commands), ...diff(after.fileOps, before.fileOps) };
      }
    }
    report(`Trivial cell, submit → result (${N} runs each, interleaved)`, cell.local!, [cell.ssh!]);

    // The local transport reads files with plain system calls and does not count them (fileOps 0).
    console.log(
      `\nCluster round trips per trivial cell (median of ${N}; over SSH each command and each SFTP request is one round trip)`,
    );
    console.log(
      "| transport | commands (exec) | ratio to local | file ops (SFTP requests) | round trips | last cell, by kind |",
    );
    console.log("|---|---|---|---|---|---|");
    for (const s of servers) {
      const t = trips[s.name]!;
      const kinds = Object.entries(t.kinds)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      const trips_ =
        s.transport === "ssh" ? String(median(t.commands) + median(t.fileOps)) : "— (no network)";
      console.log(
        `| ${s.name} | ${median(t.commands)} | ${(median(t.commands) / median(trips.local!.commands)).toFixed(2)}× | ${s.transport === "ssh" ? median(t.fileOps) : "not counted (system calls)"} | ${trips_} | ${kinds} |`,
      );
    }

    // 3. Print → stream latency.
    const lat: Record<string, number[]> = {};
    for (const s of servers) lat[s.name] = await printLatency(s);
    report(
      `Print → stream latency (${LINES} lines each, one every 200 ms)`,
      { name: "local transport", samples: lat.local! },
      [{ name: "ssh transport", samples: lat.ssh! }],
    );
    for (const s of servers) {
      const xs = lat[s.name]!;
      console.log(
        `${s.name}: p50 ${percentile(xs, 50).toFixed(0)} ms, p95 ${percentile(xs, 95).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`,
      );
    }
    console.log(
      `ssh / local: p50 ${(percentile(lat.ssh!, 50) / percentile(lat.local!, 50)).toFixed(2)}×, p95 ${(percentile(lat.ssh!, 95) / percentile(lat.local!, 95)).toFixed(2)}×  (target over SSH: p50 ≤ 400 ms)`,
    );

    // 4. Login → connected.
    const answer = (prompt: string) =>
      /Password/.test(prompt)
        ? cluster.ALPINE_TEST_PASSWORD!
        : /Passcode/.test(prompt)
          ? totpCode(cluster)
          : "";
    const logins: Record<string, Row> = {
      local: { name: "local transport: POST /api/connection/login → connected", samples: [] },
      key: { name: "ssh, key (2222): login → connected", samples: [] },
      twoFactor: { name: "ssh, password + code answered at once (2223): login → connected", samples: [] },
    };
    const loginN = Math.max(3, Math.min(N, 8));
    for (let i = 0; i < loginN; i++) {
      logins.local!.samples.push(await login(local));
      logins.key!.samples.push(await login(ssh));
      logins.twoFactor!.samples.push(await login(twoFactor, answer));
      await sleep(200);
    }
    report(`Login → connected (${loginN} each, interleaved)`, logins.local!, [
      logins.key!,
      logins.twoFactor!,
    ]);

    // The same through the command line, as a person runs it (node start + the HTTP calls included).
    const cliRows: Record<string, Row> = {
      local: { name: "`alpine-kernel login`, local transport (nothing to do)", samples: [] },
      key: { name: "`alpine-kernel login`, ssh key (2222), after a logout", samples: [] },
    };
    for (let i = 0; i < loginN; i++) {
      cliRows.local!.samples.push(cliLogin(local));
      await fetch(`${ssh.url}/api/connection/logout`, {
        method: "POST",
        headers: { Authorization: `token ${ssh.token}` },
      });
      cliRows.key!.samples.push(cliLogin(ssh));
    }
    report(`\`alpine-kernel login\` → exit 0 (${loginN} each, interleaved)`, cliRows.local!, [cliRows.key!]);
  } finally {
    for (const s of servers) s.kernel.close();
    for (const s of [local, ssh, twoFactor]) {
      s.cancelJobs();
      await s.stop();
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
