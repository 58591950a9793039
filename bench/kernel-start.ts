/**
 * Kernel start to kernel_info_reply, as Jupyter sees it: spawn `alpine-kernel kernel -f CONN` and
 * ask kernel_info over real ZeroMQ until it answers. Two cases (the user's server already running,
 * and the bridge starting it) against a baseline measured in the same run: Debian's ipykernel
 * started the same way.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { cli, isolatedEnv, report, sleep, spawnCli, type Row } from "./lib/harness";
import { ZmqJupyterClient, writeConnectionFile } from "./lib/zmq-client";

const N = Number(process.env.BENCH_N ?? 10);

async function timeStart(
  launch: (connFile: string) => { kill(): void },
  dir: string,
  i: number,
): Promise<number> {
  const conn = await writeConnectionFile(join(dir, `conn-${i}-${Math.random()}.json`));
  const client = new ZmqJupyterClient(conn);
  const t0 = performance.now();
  const proc = launch(conn.file);
  await client.waitForKernelInfo();
  const ms = performance.now() - t0;
  await client.request("control", "shutdown_request", { restart: false }).catch(() => undefined);
  client.close();
  proc.kill();
  await sleep(100);
  return ms;
}

async function main(): Promise<void> {
  const { dir, env } = isolatedEnv(
    "backend: local\nenvironment:\n  python: /usr/bin/python3\nserver:\n  idle_timeout_seconds: 3600\n",
  );
  const bridge = (f: string) => spawnCli(env, ["kernel", "-f", f]);
  const ipykernel = (f: string) =>
    spawn("/usr/bin/python3", ["-m", "ipykernel_launcher", "-f", f], {
      env: { ...env, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      stdio: "ignore",
    });

  const baseline: Row = { name: "baseline: ipykernel (Debian) start", samples: [] };
  const cold: Row = { name: "alpine-kernel, bridge starts the server", samples: [] };
  const warm: Row = { name: "alpine-kernel, server already running", samples: [] };
  await timeStart(ipykernel, dir, -1); // warm the file cache
  for (let i = 0; i < N; i++) {
    baseline.samples.push(await timeStart(ipykernel, dir, i));
    cli(env, "stop");
    cold.samples.push(await timeStart(bridge, dir, 100 + i));
    warm.samples.push(await timeStart(bridge, dir, 200 + i));
  }
  cli(env, "stop");
  report(`Kernel start → kernel_info_reply (${N} runs each, interleaved)`, baseline, [cold, warm]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
