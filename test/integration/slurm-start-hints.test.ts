/**
 * Start-time hints on the test cluster, as its ordinary user: a job holds most of the CPU node, a
 * cell asks for more CPUs than are free and waits on Resources; its status line (and its record in
 * the ledger, which the jobs panel reads) gets a hint naming a request that would start now — and
 * that request, run as a cell of another notebook, does start while the first still waits. The
 * hints stay within their budget of `sbatch --test-only` calls.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openKernel } from "../helpers/ssh";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";
import type { WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

let cluster: ClusterEnv;
let server: SlurmServer;
const kernels: WsKernelClient[] = [];
let blocker: string | undefined;

/** slurmctld's own count of `sbatch --test-only` questions (REQUEST_JOB_WILL_RUN), from sdiag. */
function willRunRpcs(): number {
  const out = execFileSync("sdiag", [], { encoding: "utf8" });
  return Number(/REQUEST_JOB_WILL_RUN\s+\(\s*\d+\)\s+count:(\d+)/.exec(out)?.[1] ?? 0);
}

/** Idle CPUs of the CPU node now (other tests' jobs may hold some). */
function idleCpus(node: string): number {
  const out = execFileSync("sinfo", ["-h", "-N", "-n", node, "-O", "CPUsState:20"], { encoding: "utf8" });
  return Number(out.trim().split("\n")[0]!.split("/")[1]);
}

beforeAll(async () => {
  cluster = requireCluster();
  server = await startSlurmServer(
    cluster,
    ["  hint_after_seconds: 1", "  hint_calls_per_minute: 6"].join("\n"),
  );
});
afterAll(async () => {
  for (const k of kernels) k.close();
  server.cancelJobs();
  if (blocker) execFileSync("scancel", [blocker], { stdio: "ignore" });
  await server.stop();
});

const statusLines = (msgs: WireMessage[]): string[] =>
  msgs
    .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"] ?? ""));

test("a cell waiting on Resources is told a request that starts now, and that request starts", async () => {
  const node = cluster.ALPINE_TEST_CPU_NODE ?? "c3cpu-a1-u1-1";
  // Other tests may be using the node for a while: wait until at least 4 of its CPUs are idle.
  const quiet = Date.now() + 120_000;
  while (idleCpus(node) < 4 && Date.now() < quiet) await new Promise((r) => setTimeout(r, 1000));
  const idle = idleCpus(node);
  expect(idle).toBeGreaterThanOrEqual(4);
  // Hold all but two of the idle CPUs for longer than the test.
  blocker = execFileSync(
    "runuser",
    [
      "-u",
      cluster.user,
      "--",
      "sbatch",
      "--parsable",
      "-p",
      "acpu",
      "-A",
      cluster.account,
      "-c",
      String(idle - 2),
      "--mem",
      "1G",
      "-t",
      "0:10:00",
      "-J",
      "ak-hint-blocker",
      "--chdir",
      "/tmp",
      "--output",
      "/dev/null",
      "--wrap",
      "sleep 600",
    ],
    { encoding: "utf8" },
  ).trim();
  const deadline = Date.now() + 30_000;
  while (
    !execFileSync("squeue", ["-h", "-j", blocker, "-o", "%T"], { encoding: "utf8" }).includes("RUNNING")
  ) {
    if (Date.now() > deadline) throw new Error("the blocker job did not start");
    await new Promise((r) => setTimeout(r, 300));
  }

  const rpcsBefore = willRunRpcs();
  const waiting = await openKernel(server, "hints-big.ipynb");
  kernels.push(waiting);
  const bigId = await waiting.startExecute("%%slurm -c 4\nprint('big ran')");
  const hinted = await waiting
    .waitFor(
      "a status line with a start-time hint",
      (m) =>
        m.parent_header.msg_id === bigId &&
        statusLines([m]).some((t) => /hint: `[^`]+` would start now/.test(t)),
      90_000,
    )
    .catch((err: Error) => {
      const last = statusLines(waiting.iopubFor(bigId)).at(-1);
      throw new Error(`${err.message}; last status line: ${last}; server log:\n${server.log().slice(-3000)}`);
    });
  const line = statusLines([hinted])[0]!;
  expect(line).toMatch(/queued as job \d+ on acpu — Resources/);
  const options = /hint: `([^`]+)` would start now on (\S+)/.exec(line)!;
  // Fewer CPUs on this node, or a partition with other nodes (other tests may add nodes to one).
  if (options[1] === "-c 2") expect(options[2]).toBe("acpu");
  else expect(options[1]).toBe(`-p ${options[2]}`);

  // The cell's record holds the hint too (what /api/jobs and the jobs panel read).
  type Line = { op: string; kind?: string; rec?: { kind: string }; fields?: Record<string, unknown> };
  const hintInLedger = () =>
    readFileSync(join(server.dir, "data", "ledger.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line)
      // the journal records a cell once, then the fields that change
      .map((l) => (l.op === "put" ? l.rec : l.op === "set" && l.kind === "cell" ? l.fields : undefined))
      .filter((r): r is { startHint: Record<string, unknown> } =>
        Boolean(r && "startHint" in r && r.startHint),
      )
      .at(-1)?.startHint;
  const until = Date.now() + 5000;
  while (!hintInLedger() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  expect(hintInLedger()).toMatchObject({ options: options[1], now: true, partition: options[2] });

  // The hinted request starts (in another notebook: this one is busy waiting).
  const other = await openKernel(server, "hints-small.ipynb");
  kernels.push(other);
  const small = await other.execute(`%%slurm ${options[1]}\nprint('small ran')`, { timeoutMs: 60_000 });
  expect(small.reply.content.status).toBe("ok");
  expect(streamText(small.iopub)).toBe("small ran\n");
  // ...while the big one still waits.
  expect(waiting.iopubFor(bigId).some((m) => m.header.msg_type === "execute_reply")).toBe(false);

  // Few extra Slurm calls, as slurmctld counts them: one good answer ends the search (before
  // "-c 2" only partitions with nodes of their own are tried; the GPU one is not offered).
  expect(willRunRpcs() - rpcsBefore).toBeLessThanOrEqual(2);

  // Stop the waiting cell (a queued job is cancelled by an interrupt).
  await waiting.send("control", "interrupt_request", {});
  await waiting.reply(bigId, 60_000);
}, 300_000);
