/**
 * `%slurm allocate` on the test cluster: one holder job whose long-lived Python runs the cells that
 * fit, with their state in memory (also what cannot be pickled), the others as jobs of their own
 * (and why), interrupts that keep the process, a crash that restarts it from the last snapshot,
 * completion from the live objects, a kernel restart, a replacement, a release; and two notebooks
 * each with an allocation of its own.
 */
import { execFileSync } from "node:child_process";
import {
  allocate as allocateWith,
  displays,
  openKernel as openKernelOn,
  squeueState,
  type WireMessage,
} from "../helpers/allocation";
import type { WsKernelClient } from "../helpers/ws-client";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";

const lastLine = (iopub: WireMessage[]) => displays(iopub).pop() ?? "";
const jobState = (id: string) =>
  execFileSync("sacct", ["-X", "-n", "-P", "-o", "State", "-j", id], { encoding: "utf8" })
    .trim()
    .split(" ")[0] ?? "";

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let cluster: ClusterEnv;
let server: SlurmServer;
const ALLOCATE = () => `%slurm allocate -p ${cluster.gpuPartition} --time 0:15:00 --mem 2G`;

beforeAll(async () => {
  cluster = requireCluster();
  server = await startSlurmServer(cluster);
});
afterAll(async () => {
  server?.cancelJobs();
  await server?.stop();
});

const openKernel = (notebook: string) => openKernelOn(server, notebook);

/** Allocates and returns the holder's job id (the allocation is ready when it returns). */
async function allocate(k: WsKernelClient, code = ALLOCATE()): Promise<string> {
  return (await allocateWith(k, code.replace(/^%slurm allocate /, ""))).holder;
}

describe("one notebook's allocation", () => {
  let k: WsKernelClient;
  let kernelId: string;
  let holder: string;
  let pid: string;

  beforeAll(async () => {
    ({ k, id: kernelId } = await openKernel("alloc.ipynb"));
  });
  afterAll(() => k?.close());

  test("%slurm allocate holds one job and shows its line: queued or starting, then ready with node, resources, time left", async () => {
    const r = await k.execute(ALLOCATE(), { timeoutMs: 240_000 });
    expect(r.reply.content.status).toBe("ok");
    holder = /allocation (\d+) ready on/.exec(streamText(r.iopub))![1]!;
    expect(squeueState(holder)).toBe("RUNNING");
    const lines = displays(r.iopub);
    expect(lines[0]).toMatch(
      new RegExp(`^… allocation ${holder} (queued on ${cluster.gpuPartition}|starting on)`),
    );
    const ready = new RegExp(
      `^▶ allocation ${holder} on ${cluster.ALPINE_TEST_GPU_NODE} \\(1 CPU, 2G\\): cells run in it · 1[45]:\\d\\d left \\(until \\d\\d:\\d\\d\\)`,
    );
    // The time left comes with squeue's word on the running holder, which a loaded machine may
    // deliver after the Python said it was ready: the line is then updated in place.
    const shown = await k.waitFor("the allocation's line with its time left", (m) =>
      displays([m]).some((line) => ready.test(line)),
    );
    expect(displays([shown])[0]).toMatch(ready);
  }, 300_000);

  test("cells run in one Python inside it and keep what cannot be pickled: an open file, a generator, a thread", async () => {
    const first = await k.execute(
      [
        "import os, threading, time",
        "f = open('kept.txt', 'w')",
        "g = (i * i for i in range(10))",
        "stop = threading.Event()",
        "t = threading.Thread(target=stop.wait, daemon=True); t.start()",
        "x = 41",
        "print(os.getpid(), os.environ['SLURM_JOB_ID'], next(g))",
      ].join("\n"),
    );
    expect(first.reply.content.status).toBe("ok");
    const [p, job, sq] = streamText(first.iopub).trim().split(" ");
    pid = p!;
    expect(job).toBe(holder);
    expect(sq).toBe("0");
    const second = await k.execute(
      "x += 1\nf.write('kept'); f.flush()\nprint(os.getpid(), next(g), t.is_alive(), x)",
    );
    expect(streamText(second.iopub)).toBe(`${pid} 1 True 42\n`);
    expect(lastLine(second.iopub)).toMatch(
      new RegExp(`^✔ in allocation ${holder} on ${cluster.ALPINE_TEST_GPU_NODE}, \\d+\\.\\d\\d s`),
    );
  });

  test("%who and %whos list the live names, %whos saying they are held in the allocation's Python", async () => {
    const who = await k.execute("%who");
    expect(streamText(who.iopub).trim().split("\t")).toEqual(expect.arrayContaining(["f", "g", "t", "x"]));
    const whos = await k.execute("%whos generator");
    expect(displays(whos.iopub).join("\n")).toMatch(
      new RegExp(
        `^1 of \\d+ names held in allocation ${holder}'s Python[^\\n]*\\nVariable +Type +Held in\\ng +generator +memory only`,
      ),
    );
  });

  test("a cell the allocation cannot satisfy runs as its own job and says why; it starts from the live namespace and the allocation sees what it made", async () => {
    const big = await k.execute(
      "%%slurm --mem 3G\nimport os\ny = x * 2\nprint(os.environ['SLURM_JOB_ID'], x)",
      {
        timeoutMs: 120_000,
      },
    );
    expect(big.reply.content.status).toBe("ok");
    const [job, x] = streamText(big.iopub).trim().split(" ");
    expect(job).not.toBe(holder);
    expect(x).toBe("42");
    expect(lastLine(big.iopub)).toMatch(new RegExp(`^✔ job ${job} completed`));
    expect(lastLine(big.iopub)).toContain(
      `this cell runs as its own job, not in allocation ${holder}: it asks for 3G of memory; allocation ${holder} has 2G`,
    );
    // The unpicklable names stay in the allocation (and the job was told they could not come).
    expect(streamText(big.iopub, "stderr")).toMatch(
      /not carried to this job \(they stay in allocation \d+\): .*f/,
    );
    const back = await k.execute("print(os.getpid(), y, x, next(g), f.closed)");
    expect(streamText(back.iopub)).toBe(`${pid} 84 42 4 False\n`);
  }, 150_000);

  test("%%slurm --detach always runs as its own job, from the allocation's namespace as of now", async () => {
    await k.execute("x = 100");
    const d = await k.execute(
      "%%slurm --detach\nimport os\nprint('detached', x, os.environ['SLURM_JOB_ID'])",
    );
    expect(d.reply.content.status).toBe("ok");
    const line = await k.waitFor(
      "the detached cell's output",
      (m) =>
        m.parent_header.msg_id === d.msgId && /detached 100 \d+/.test(JSON.stringify(m.content.data ?? "")),
      120_000,
    );
    const text = String((line.content.data as Record<string, string>)["text/plain"]);
    expect(text).toContain(
      `runs as its own job (detached cells always do), from allocation ${holder}'s namespace`,
    );
    expect(/detached 100 (\d+)/.exec(text)![1]).not.toBe(holder);
  }, 150_000);

  test("interrupt raises KeyboardInterrupt in the cell and the process lives on", async () => {
    const msgId = await k.startExecute("print('sleeping', flush=True)\ntime.sleep(120)");
    await k.waitFor(
      "the cell running",
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "stream",
      30_000,
    );
    await k.request("interrupt_request", {}, "control");
    const reply = await k.reply(msgId, 30_000);
    expect(reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    const after = await k.execute("print(os.getpid(), x, next(g))");
    expect(streamText(after.iopub)).toBe(`${pid} 100 9\n`);
  }, 90_000);

  test("input() is answered through the stdin channel and rich displays arrive, as for per-cell jobs", async () => {
    const id = await k.startExecute(
      "from IPython.display import display, HTML\nanswer = input('Question? ')\ndisplay(HTML(f'<b>{answer}</b>'))\nprint(os.getpid(), answer)",
      { allowStdin: true },
    );
    const req = await k.waitFor(
      "input_request",
      (m) => m.channel === "stdin" && m.header.msg_type === "input_request",
      30_000,
    );
    expect(req.content).toEqual({ prompt: "Question? ", password: false });
    await k.send("stdin", "input_reply", { value: "forty-two ✓" }, req.header);
    expect((await k.reply(id, 30_000)).content.status).toBe("ok");
    await k.idle(id);
    expect(streamText(k.iopubFor(id))).toBe(`${pid} forty-two ✓\n`);
    const html = k
      .iopubFor(id)
      .filter((m) => m.header.msg_type === "display_data")
      .map((m) => (m.content.data as Record<string, string>)["text/html"]);
    expect(html).toContain("<b>forty-two ✓</b>");
  }, 60_000);

  test("completion and inspection ask the live Python: df. lists the real DataFrame's columns", async () => {
    await k.execute("import pandas as pd\ndf = pd.DataFrame({'alpha_col': [1, 2], 'beta_col': [3, 4]})");
    // Each match replaces code[cursor_start, cursor_end): what the frontend would show after it.
    const completed = async (code: string) => {
      const c = await k.request("complete_request", { code, cursor_pos: code.length });
      expect(c.content.status).toBe("ok");
      const {
        matches,
        cursor_start: from,
        cursor_end: to,
      } = c.content as {
        matches: string[];
        cursor_start: number;
        cursor_end: number;
      };
      return matches.map((m) => code.slice(0, from) + m + code.slice(to));
    };
    expect(await completed("df.al")).toContain("df.alpha_col");
    expect((await completed("df['be")).some((t) => t.startsWith("df['beta_col"))).toBe(true);
    const i = await k.request("inspect_request", { code: "df", cursor_pos: 2, detail_level: 0 });
    expect(i.content).toMatchObject({ status: "ok", found: true });
    expect(JSON.stringify(i.content.data)).toContain("DataFrame");
  }, 60_000);

  test("a cell that kills the process ends with a clear message; the next starts a fresh Python in the same allocation from the last snapshot", async () => {
    const crash = await k.execute("import ctypes\nz = 1\nctypes.string_at(0)");
    expect(crash.reply.content).toMatchObject({ status: "error", ename: "CellProcessDied" });
    expect(String(crash.reply.content.evalue)).toMatch(
      new RegExp(
        `allocation ${holder}'s Python was killed by SIGSEGV while this cell ran.*What it held in memory is lost; the next cell starts a fresh Python in allocation ${holder} from the namespace saved at`,
      ),
    );
    // faulthandler's report reaches the cell (fd 2 was the cell's stderr file).
    expect(streamText(crash.iopub, "stderr")).toMatch(/Segmentation fault/);
    const next = await k.execute(
      "import os\nprint(os.getpid(), os.environ['SLURM_JOB_ID'], x, y, 'z' in dir(), 'f' in dir())",
      { timeoutMs: 60_000 },
    );
    const [newPid, job, ...rest] = streamText(next.iopub).trim().split(" ");
    expect(newPid).not.toBe(pid);
    expect(job).toBe(holder);
    // x=100 and y were saved before the detached job; z and the open file died with the process.
    expect(rest).toEqual(["100", "84", "False", "False"]);
    pid = newPid!;
  }, 90_000);

  test("%squeue lists the allocation with its remaining time, and the cells that ran in it", async () => {
    const q = await k.execute("%squeue");
    const table = displays(q.iopub).join("\n");
    expect(table).toMatch(
      new RegExp(
        // elapsed: "3 s" under a minute, "1:05" after
        `allocation\\s+${holder}\\s+RUNNING\\s+—\\s+${cluster.gpuPartition}\\s+(\\d+ s|[\\d:]+)/15:00 \\(1[0-4]:\\d\\d left\\)`,
      ),
    );
    expect(table).toMatch(new RegExp(`${holder}\\.c\\d+\\s+COMPLETED\\s+—\\s+${cluster.gpuPartition}`));
  });

  test("a kernel restart starts the allocation's Python over, empty, in the same allocation", async () => {
    const res = await fetch(`${server.url}/api/kernels/${kernelId}/restart`, {
      method: "POST",
      headers: { Authorization: `token ${server.token}` },
    });
    expect(res.status).toBe(200);
    const after = await k.execute("import os\nprint(os.environ['SLURM_JOB_ID'], 'x' in dir(), os.getpid())", {
      timeoutMs: 60_000,
    });
    const [job, hasX, newPid] = streamText(after.iopub).trim().split(" ");
    expect(job).toBe(holder);
    expect(hasX).toBe("False");
    expect(newPid).not.toBe(pid);
  }, 90_000);

  test("%slurm allocate again replaces it: the old one ends, the namespace goes over", async () => {
    await k.execute("w = 'carried'");
    const second = await allocate(k, `%slurm allocate -p ${cluster.gpuPartition} --time 0:10:00 --mem 1G`);
    expect(second).not.toBe(holder);
    await until(`allocation ${holder} to end`, () => squeueState(holder) === "");
    const r = await k.execute("import os\nprint(os.environ['SLURM_JOB_ID'], w)");
    expect(streamText(r.iopub)).toBe(`${second} carried\n`);
    holder = second;
  }, 300_000);

  test("%slurm release ends it; the next cell runs as its own job from its namespace", async () => {
    const r = await k.execute("%slurm release");
    expect(streamText(r.iopub)).toMatch(
      new RegExp(`allocation ${holder} released \\(namespace saved: \\d+ names?\\)`),
    );
    // sacct may still say RUNNING for a moment after the job left squeue.
    await until(
      `job ${holder} to leave the queue`,
      () => squeueState(holder) === "" && jobState(holder) !== "RUNNING",
    );
    expect(jobState(holder)).toBe("COMPLETED");
    const after = await k.execute("import os\nprint(os.environ['SLURM_JOB_ID'], w)", { timeoutMs: 120_000 });
    const [job, w] = streamText(after.iopub).trim().split(" ");
    if (w !== "carried")
      throw new Error(JSON.stringify(after.iopub.map((m) => [m.header.msg_type, m.content])));
    expect(job).not.toBe(holder);
    expect(w).toBe("carried");
    expect(lastLine(after.iopub)).toMatch(new RegExp(`^✔ job ${job} completed`));
  }, 180_000);
});

test("two notebooks each hold an allocation of their own", async () => {
  const a = await openKernel("one.ipynb");
  const b = await openKernel("two.ipynb");
  try {
    const [ha, hb] = await Promise.all([
      allocate(a.k, `%slurm allocate -p ${cluster.gpuPartition} --time 0:05:00 --mem 500M`),
      allocate(b.k, `%slurm allocate -p ${cluster.gpuPartition} --time 0:05:00 --mem 500M`),
    ]);
    expect(ha).not.toBe(hb);
    const [ra, rb] = await Promise.all([
      a.k.execute("import os\nv = 'a'\nprint(os.environ['SLURM_JOB_ID'])"),
      b.k.execute("import os\nprint(os.environ['SLURM_JOB_ID'], 'v' in dir())"),
    ]);
    expect(streamText(ra.iopub)).toBe(`${ha}\n`);
    expect(streamText(rb.iopub)).toBe(`${hb} False\n`);
    // Shutting a kernel down releases its allocation.
    const res = await fetch(`${server.url}/api/kernels/${a.id}`, {
      method: "DELETE",
      headers: { Authorization: `token ${server.token}` },
    });
    expect(res.status).toBe(204);
    await until(`allocation ${ha} to end`, () => squeueState(ha) === "");
    expect(squeueState(hb)).toBe("RUNNING");

    // The jobs panel and the queue page list b's allocation as a row of its own, with its time
    // left; it has no output of its own; cancelling the row releases it, its namespace saved.
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${server.url}${path}`, { ...init, headers: { Authorization: `token ${server.token}` } });
    const { jobs } = (await (await api("/api/jobs")).json()) as { jobs: Record<string, unknown>[] };
    const row = jobs.find((j) => j.kind === "allocation" && j.jobId === hb);
    expect(row).toMatchObject({
      phase: "running",
      state: "RUNNING",
      notebook: "two.ipynb",
      node: cluster.ALPINE_TEST_GPU_NODE,
      timeLimitSeconds: 300,
    });
    expect(row!.firstLine).toMatch(/^%slurm allocate .*--time 0:05:00/);
    expect(row!.firstLine).not.toMatch(/--account/);
    const left = (Number(row!.endsAt) - Date.now()) / 1000;
    expect(left).toBeGreaterThan(200);
    expect(left).toBeLessThanOrEqual(300);
    expect(Number(row!.warnAt)).toBeLessThan(Number(row!.endsAt));
    expect(jobs.some((j) => j.kind === "allocation" && j.jobId === ha && j.phase === "ended")).toBe(true);
    const id = encodeURIComponent(String(row!.id));
    const tail = await api(`/api/jobs/${id}/tail`);
    expect(tail.status).toBe(404);
    expect(((await tail.json()) as { message: string }).message).toMatch(
      /held allocation: it has no output of its own/,
    );
    const released = await api(`/api/jobs/${id}/cancel`, { method: "POST" });
    expect(released.status).toBe(200);
    expect(((await released.json()) as { message: string }).message).toBe(
      `released allocation ${hb}; its namespace was saved for the cells after it`,
    );
    await until(`allocation ${hb} to end`, () => squeueState(hb) === "");
    const after = (await (await api("/api/jobs")).json()) as { jobs: Record<string, unknown>[] };
    expect(after.jobs.find((j) => j.jobId === hb && j.kind === "allocation")).toMatchObject({
      phase: "ended",
      end: { outcome: "completed", message: "released" },
    });
    const next = await b.k.execute("import os\nprint(os.environ['SLURM_JOB_ID'])", { timeoutMs: 120_000 });
    expect(streamText(next.iopub).trim()).not.toBe(hb);
  } finally {
    a.k.close();
    b.k.close();
  }
}, 300_000);
