/**
 * Array cells on the test cluster (`%%slurm --array`), as the cluster's user: a 20-task array with
 * a task that raises and one that hits its time limit — the live summary in the status line, the
 * first task's output live and any task's on request, the failed tasks told with their end states,
 * `%slurm gather` into a DataFrame, `%slurm rerun --failed` with more time, and the gather again
 * from each task's latest run; an interrupted array; and 1000 tasks held pending costing one
 * squeue per tick, with no per-task work. Over SSH, a smaller array end to end.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openKernel } from "../helpers/ssh";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
  type TransportKind,
} from "../helpers/slurm";
import type { WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

// eslint-disable-next-line no-control-regex -- tracebacks are coloured
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");
const statusLines = (msgs: WireMessage[]): string[] =>
  msgs
    .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"] ?? "").split("\n")[0]!);
const errorOf = (msgs: WireMessage[]) => msgs.find((m) => m.header.msg_type === "error")?.content;
const arrayIdOf = (msgs: WireMessage[]): string => {
  const line = statusLines(msgs).find((l) => /array \d+/.test(l));
  if (!line) throw new Error(`no array status line in ${JSON.stringify(statusLines(msgs))}`);
  return /array (\d+)/.exec(line)![1]!;
};

let cluster: ClusterEnv;
beforeAll(() => {
  cluster = requireCluster();
});

describe("a 20-task array with a failing and a timing-out task (local transport)", () => {
  let server: SlurmServer;
  let kernel: WsKernelClient;
  let arrayId: string;
  let first: { reply: WireMessage; iopub: WireMessage[] };

  beforeAll(async () => {
    server = await startSlurmServer(cluster);
    kernel = await openKernel(server, "sweep.ipynb");
    expect((await kernel.execute("rates = [i / 10 for i in range(20)]")).reply.content.status).toBe("ok");
    const code = [
      "%%slurm --array 0-19 -t 1",
      "import os, time",
      "fixed = os.path.exists('fixed.flag')",
      "print('task', task_id, flush=True)",
      "result = {'task': task_id, 'rate': rates[task_id]}",
      "if task_id == 7 and not fixed:",
      "    raise ValueError('bad learning rate for task 7')",
      "if task_id == 13 and not fixed:",
      "    time.sleep(600)",
    ].join("\n");
    // Slurm ends the time-limited task some 60–90 s after it started.
    first = await kernel.execute(code, { timeoutMs: 240_000 });
    arrayId = arrayIdOf(first.iopub);
  }, 260_000);
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
  });

  test("the cell ends ArrayTasksFailed, each failed task told with its end state and diagnosis", () => {
    expect(first.reply.content).toMatchObject({ status: "error", ename: "ArrayTasksFailed" });
    expect(first.reply.content.evalue).toBe(
      `2 of 20 tasks of array ${arrayId} failed: tasks 7, 13 (%slurm output ${arrayId}_7 shows a task's output; %slurm rerun ${arrayId} --failed runs the failed ones again)`,
    );
    const tb = (errorOf(first.iopub)!.traceback as string[]).map(plain);
    expect(tb[1]).toBe(`task ${arrayId}_7 (FAILED) — ValueError: bad learning rate for task 7`);
    expect(tb[2]).toMatch(
      new RegExp(
        `^task ${arrayId}_13 \\(TIMEOUT\\) — SlurmTimeout: the cell hit its time limit --time=1 after`,
      ),
    );
  });

  test("only the first task's output streams into the cell", () => {
    expect(streamText(first.iopub)).toBe("task 0\n");
  });

  test("the status line: a live summary in place, the failed task named while the others run, then the end", () => {
    const lines = statusLines(first.iopub);
    const live = lines.filter((l) => /^[…▶] array/.test(l));
    for (const l of live) {
      const m = /(\d+) done · (\d+) running · (\d+) pending · (\d+) failed/.exec(l);
      if (m) expect(Number(m[1]) + Number(m[2]) + Number(m[3]) + Number(m[4])).toBe(20);
    }
    expect(live.some((l) => /· 1 failed \(7\) — for/.test(l) && /[1-9]\d* running/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^✖ array ${arrayId}: 18 done · 2 failed \\(7 FAILED, 13 TIMEOUT\\) — ended with ArrayTasksFailed after \\d`,
      ),
    );
    // One display, updated in place; no two updates alike in a row.
    const ids = new Set(
      first.iopub
        .filter((m) => m.header.msg_type.endsWith("display_data"))
        .map((m) => (m.content.transient as { display_id: string }).display_id),
    );
    expect(ids.size).toBe(1);
    lines.slice(1).forEach((l, i) => expect(l).not.toBe(lines[i]));
  });

  test("%slurm output: any task's output on request; the array's tasks as a table", async () => {
    const t7 = await kernel.execute(`%slurm output ${arrayId}_7`);
    expect(streamText(t7.iopub)).toBe("task 7\n");
    expect(plain((errorOf(t7.iopub)!.traceback as string[]).join("\n"))).toMatch(
      /ValueError: bad learning rate for task 7/,
    );
    const t13 = await kernel.execute(`%slurm output ${arrayId}_13`);
    expect(streamText(t13.iopub)).toBe("task 13\n");
    expect(streamText(t13.iopub, "stderr")).toMatch(/CANCELLED AT .* DUE TO TIME LIMIT/);
    const table = await kernel.execute(`%slurm output ${arrayId}`);
    const text = String(
      (table.iopub.find((m) => m.header.msg_type === "display_data")!.content.data as Record<string, string>)[
        "text/plain"
      ],
    );
    expect(text).toContain(`array ${arrayId} (cell 2, tasks 0-19): 18 done · 2 failed`);
    expect(text).toMatch(new RegExp(`${arrayId}_7 +FAILED +ValueError`));
    expect(text).toMatch(new RegExp(`${arrayId}_13 +TIMEOUT +SlurmTimeout`));
    const none = await kernel.execute(`%slurm output ${arrayId}_20`);
    expect(none.reply.content).toMatchObject({ status: "error", ename: "MagicError" });
    expect(none.reply.content.evalue).toContain(`array ${arrayId} has no task 20 (its tasks: 0-19)`);
  });

  test("%slurm gather: a DataFrame of the tasks' dicts, saying which task had none", async () => {
    const g = await kernel.execute(
      `%slurm gather ${arrayId} result\nprint(type(result).__name__, len(result), result.loc[7, 'rate'], 13 in result.index)`,
      { timeoutMs: 60_000 },
    );
    expect(g.reply.content.status).toBe("ok");
    expect(streamText(g.iopub)).toBe(
      `gathered 'result' from 19 of 20 tasks of array ${arrayId} into result: a DataFrame, one row per task (index task_id)\n` +
        "no 'result' in task 13 (TIMEOUT: no saved namespace)\n" +
        "DataFrame 19 0.7 False\n",
    );
    // The gathered value is in the notebook's namespace for the next cells.
    expect(streamText((await kernel.execute("print(round(result['rate'].sum(), 6))")).iopub)).toBe("17.7\n");
  });

  test("%slurm rerun --failed, with more time: only those tasks, from the namespace the array started from", async () => {
    writeFileSync(join(server.workDir, "fixed.flag"), "");
    // The notebook moved on since: the rerun still sees the rates the array started with.
    await kernel.execute("rates = None");
    const r = await kernel.execute(`%%slurm -t 5\n%slurm rerun ${arrayId} --failed`, { timeoutMs: 120_000 });
    expect(r.reply.content.status).toBe("ok");
    expect(streamText(r.iopub, "stderr")).toBe(
      `alpine-kernel: rerunning tasks 7, 13 of array ${arrayId} (cell 2), from the namespace it started from\n`,
    );
    expect(streamText(r.iopub)).toBe("task 7\n");
    const rerunId = arrayIdOf(r.iopub);
    expect(rerunId).not.toBe(arrayId);
    expect(statusLines(r.iopub).at(-1)).toMatch(new RegExp(`^✔ array ${rerunId}: all 2 tasks completed in`));
    const again = await kernel.execute(`%slurm rerun ${arrayId} --failed`);
    expect(again.reply.content.evalue).toContain(`no task of array ${arrayId} failed: nothing to rerun`);
  }, 150_000);

  test("gather after the rerun: each task's latest run, all 20", async () => {
    const g = await kernel.execute(
      `%slurm gather ${arrayId} result\nprint(len(result), result.loc[13, 'rate'])`,
      { timeoutMs: 60_000 },
    );
    expect(streamText(g.iopub)).toMatch(/from 20 of 20 tasks of array .*\n20 1.3\n$/);
  });

  test("interrupt: the running tasks get KeyboardInterrupt, the pending ones never start", async () => {
    const msgId = await kernel.startExecute(
      "%%slurm --array 0-9%2\nimport time\nprint('sleeping', task_id, flush=True)\ntime.sleep(600)",
    );
    await kernel.waitFor(
      "the first task running",
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "stream",
      60_000,
    );
    await kernel.request("interrupt_request", {}, "control");
    const reply = await kernel.reply(msgId, 90_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    expect(String(reply.content.evalue)).toMatch(
      /^array \d+ was interrupted: 0 of 10 tasks had completed; tasks 0-9 did not/,
    );
    // The first task's own KeyboardInterrupt streams live; the array's summary error comes last.
    const errors = kernel.iopubFor(msgId).filter((m) => m.header.msg_type === "error");
    expect(errors.length).toBe(2);
    const tb = plain((errors.at(-1)!.content.traceback as string[]).join("\n"));
    expect(tb).toMatch(/_0 \(FAILED\) — KeyboardInterrupt/);
    expect(tb).toMatch(/_9 \(CANCELLED\) — SlurmCancelled/);
  }, 120_000);
});

describe("1000 tasks held pending", () => {
  let server: SlurmServer;
  let kernel: WsKernelClient;

  beforeAll(async () => {
    server = await startSlurmServer(cluster);
    kernel = await openKernel(server, "big.ipynb");
  });
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
  });

  test("one squeue per tick for all of them, nothing per task; the summary counts them", async () => {
    const r = await kernel.execute("%%slurm --array 0-999 --begin now+1hour --detach\nx = task_id", {
      timeoutMs: 60_000,
    });
    expect(r.reply.content.status).toBe("ok");
    const arrayId = arrayIdOf(r.iopub);
    await kernel.waitFor(
      "the summary of 1000 pending tasks",
      (m) =>
        statusLines([m]).some((l) =>
          l.includes(`array ${arrayId}: 0 done · 0 running · 1000 pending · 0 failed`),
        ),
      30_000,
    );
    const before = await server.metrics();
    const seconds = 20;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = await server.metrics();
    const ran = (name: string) => (after.commands[name] ?? 0) - (before.commands[name] ?? 0);
    // Test polling: 0.5 s backing off to 5 s — at most ~12 ticks in 20 s, one squeue each.
    expect(ran("squeue")).toBeGreaterThan(0);
    expect(ran("squeue")).toBeLessThanOrEqual(12);
    for (const other of ["sacct", "scontrol", "sbatch", "scancel", "sinfo", "sacctmgr"])
      expect(ran(other)).toBe(0);
    // The files: only the first task's, polled while it waits, never the other 999's.
    const reads =
      Object.values(after.fileOps).reduce((a, b) => a + b, 0) -
      Object.values(before.fileOps).reduce((a, b) => a + b, 0);
    expect(reads).toBeLessThan(3 * seconds * 2);
    const c = await kernel.execute(`%scancel ${arrayId}`);
    expect(streamText(c.iopub)).toContain(`cancelled job ${arrayId}`);
  }, 120_000);
});

describe.each<TransportKind>(["ssh"])("an array over the %s transport", (transport) => {
  let server: SlurmServer;
  let kernel: WsKernelClient;

  beforeAll(async () => {
    server = await startSlurmServer(cluster, "", undefined, { transport });
    kernel = await openKernel(server, "laptop-sweep.ipynb");
  });
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
  });

  test("tasks run where the notebook's cells run; a failure, output on request, gather", async () => {
    const r = await kernel.execute(
      "%%slurm --array 0-5%3\nimport os\nprint(os.getcwd().endswith('laptop-sweep'), task_id, flush=True)\nv = task_id * 2\nif task_id == 4: raise KeyError('four')",
      { timeoutMs: 120_000 },
    );
    const arrayId = arrayIdOf(r.iopub);
    expect(r.reply.content).toMatchObject({ status: "error", ename: "ArrayTasksFailed" });
    expect(streamText(r.iopub)).toBe("True 0\n");
    expect(statusLines(r.iopub).at(-1)).toMatch(/^✖ array \d+: 5 done · 1 failed \(4 FAILED\)/);
    expect(streamText((await kernel.execute(`%slurm output ${arrayId}_5`)).iopub)).toBe("True 5\n");
    const g = await kernel.execute(`%slurm gather ${arrayId} v\nprint(v)`, { timeoutMs: 60_000 });
    expect(streamText(g.iopub)).toMatch(/a list in task order\n\[0, 2, 4, 6, 8, 10\]\n$/);
  }, 180_000);
});
