/**
 * A cell owns its phase: planned → submitting → queued → running → ending → ended, driven by what
 * its backend reports, and tells its subscribers. The backend here is a fake of the interface the
 * test plays; the rules under test are the cell's own (interrupts, cancels, input, how it ended).
 */
import { Cell } from "../../../src/cells/cell";
import type { CellEvent, CellPhase } from "../../../src/cells/cell-types";
import { SubmitError } from "../../../src/jobs/slurm/slurm-scheduler";
import { FakeBackend, cellInfo, cellSpec } from "./fake-backend";

const NOW = new Date(2026, 10, 25, 14, 0, 0).getTime();
beforeEach(() => jest.useFakeTimers({ now: NOW, doNotFake: ["nextTick", "queueMicrotask"] }));
afterEach(() => jest.useRealTimers());

let warnings: string[];
function open(over: Parameters<typeof cellInfo>[0] = {}): {
  cell: Cell;
  events: CellEvent[];
  backend: FakeBackend;
} {
  warnings = [];
  const cell = new Cell(cellInfo(over), (m) => warnings.push(m));
  const events: CellEvent[] = [];
  cell.on((e) => events.push(e));
  return { cell, events, backend: new FakeBackend() };
}
const phases = (events: CellEvent[]): CellPhase["name"][] =>
  events.flatMap((e) => (e.type === "phase" ? [e.phase.name] : []));

test("a cell that completes goes through every phase, and its end says how long and how big", async () => {
  const { cell, events, backend } = open();
  expect(cell.phase).toEqual({ name: "planned" });
  await cell.submit(backend, cellSpec());
  expect(cell.phase).toMatchObject({ name: "queued", jobId: "28", since: NOW });
  expect(cell.jobId).toBe("28");
  expect(backend.specs).toHaveLength(1);
  jest.setSystemTime(NOW + 2000);
  backend.job.start("c3cpu-a1-u1-1", NOW + 1000);
  expect(cell.phase).toMatchObject({ name: "running", node: "c3cpu-a1-u1-1", since: NOW + 1000 });
  jest.setSystemTime(NOW + 4000);
  backend.job.end({ kind: "ended", status: "ok", maxRss: "410M" });
  const end = await cell.finished;
  expect(end).toMatchObject({
    outcome: { kind: "completed" },
    state: "COMPLETED",
    seconds: 3,
    maxRss: "410M",
    node: "c3cpu-a1-u1-1",
  });
  expect(phases(events)).toEqual(["submitting", "queued", "running", "ending", "ended"]);
});

describe("statuses from the scheduler", () => {
  test("pending keeps the queued clock; RUNNING from squeue dates the start from its elapsed time", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    jest.setSystemTime(NOW + 30_000);
    backend.job.listener.onStatus({ jobId: "28", state: "PENDING", reason: "Priority" });
    expect(cell.phase).toMatchObject({ name: "queued", since: NOW, status: { reason: "Priority" } });
    backend.job.listener.onStatus({ jobId: "28", state: "RUNNING", node: "n1", elapsed: "0:10", cpus: 4 });
    expect(cell.phase).toMatchObject({
      name: "running",
      since: NOW + 20_000,
      node: "n1",
      status: { cpus: 4 },
    });
    expect(cell.queueStatus).toMatchObject({ state: "RUNNING" });
  });

  test("the runner's start marker wins over squeue's coarser elapsed", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.start("n2", NOW - 5000);
    backend.job.listener.onStatus({ jobId: "28", state: "RUNNING", node: "n2", elapsed: "0:30" });
    expect(cell.phase).toMatchObject({ name: "running", since: NOW - 5000 });
  });

  test.each(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "SUSPENDED"] as const)(
    "%s from squeue changes no phase (the cell's end does)",
    async (state) => {
      const { cell, events, backend } = open();
      await cell.submit(backend, cellSpec());
      const n = events.length;
      backend.job.listener.onStatus({ jobId: "28", state });
      expect(events).toHaveLength(n);
      expect(cell.phase.name).toBe("queued");
    },
  );

  test("requeued (squeue says pending again after running): queued anew", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.listener.onStatus({ jobId: "28", state: "RUNNING", node: "n1", elapsed: "0:01" });
    jest.setSystemTime(NOW + 9000);
    backend.job.listener.onStatus({ jobId: "28", state: "REQUEUED" });
    expect(cell.phase).toMatchObject({ name: "queued", since: NOW + 9000 });
  });
});

test("outputs, the namespace and a second start (requeue) are passed on in order", async () => {
  const { cell, events, backend } = open();
  await cell.submit(backend, cellSpec());
  backend.job.start("n1");
  backend.job.emit(
    { type: "stream", name: "stdout", text: "hi\n" },
    { type: "display_data", data: { "text/plain": "x" }, metadata: {}, transient: {} },
    {
      type: "namespace",
      saved: 1,
      skipped: {},
      bytes: 10,
      seconds: 0.1,
      names: { df: "DataFrame" },
      total: 3,
      loaded: 2,
      loaded_bytes: 100,
      mapped_bytes: 4096,
      load_seconds: 0.2,
      written: 1,
      written_bytes: 10,
    },
  );
  backend.job.listener.onOutput("stderr", "module: loaded\n");
  backend.job.start("n7");
  expect(events.filter((e) => e.type !== "phase")).toEqual([
    { type: "output", output: { type: "stream", name: "stdout", text: "hi\n" } },
    {
      type: "output",
      output: { type: "display_data", data: { "text/plain": "x" }, metadata: {}, transient: {} },
    },
    {
      type: "namespace",
      names: { df: "DataFrame" },
      use: {
        total: 3,
        loaded: 2,
        loadedBytes: 100,
        mappedBytes: 4096,
        loadSeconds: 0.2,
        written: 1,
        writtenBytes: 10,
        saveSeconds: 0.1,
        storeBytes: 10,
      },
    },
    { type: "output", output: { type: "stream", name: "stderr", text: "module: loaded\n" } },
    { type: "requeued", host: "n7" },
  ]);
});

test("a detached cell's namespace event: what it loaded, no names and no store size (it saves nothing)", async () => {
  const { cell, events, backend } = open();
  await cell.submit(backend, cellSpec());
  backend.job.start("n1");
  backend.job.emit({ type: "namespace", saved: 0, skipped: {}, read_only: true, total: 4, loaded: 1 });
  expect(events.filter((e) => e.type === "namespace")).toEqual([
    {
      type: "namespace",
      use: {
        total: 4,
        loaded: 1,
        loadedBytes: 0,
        mappedBytes: 0,
        loadSeconds: 0,
        written: 0,
        writtenBytes: 0,
        saveSeconds: 0,
      },
    },
  ]);
});

describe("how a cell ended", () => {
  test("the cell raised: its own error, state FAILED", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.start();
    backend.job.emit({ type: "error", ename: "ValueError", evalue: "bad", traceback: ["tb"] });
    backend.job.end({ kind: "ended", status: "error", maxRss: "12M" });
    expect(await cell.finished).toMatchObject({
      outcome: { kind: "raised", error: { ename: "ValueError", evalue: "bad", traceback: ["tb"] } },
      state: "FAILED",
      maxRss: "12M",
    });
  });

  test("an error end without an error event is an UnknownError", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.end({ kind: "ended", status: "error" });
    expect((await cell.finished).outcome).toMatchObject({ kind: "raised", error: { ename: "UnknownError" } });
  });

  test("the job died: diagnosed from the final state, which is the record's state", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.start();
    backend.job.die({ state: "TIMEOUT", elapsed: "01:00:04", maxRss: "1.2G" });
    const end = await cell.finished;
    expect(end.state).toBe("TIMEOUT");
    expect(end.maxRss).toBe("1.2G");
    expect(end.outcome).toMatchObject({ kind: "died", failure: { name: "SlurmTimeout" } });
    expect(end.outcome.kind === "died" && end.outcome.failure.message).toMatch(
      /--time=1:00:00 after 01:00:04/,
    );
  });

  test("a job that died while the server was away ends FAILED (its state is unknown)", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.die({ state: "UNKNOWN", unknown: true });
    expect((await cell.finished).state).toBe("FAILED");
  });

  test("an interrupted cell whose job was cancelled says KeyboardInterrupt, a timeout stays a timeout", async () => {
    for (const [state, name] of [
      ["CANCELLED", "KeyboardInterrupt"],
      ["TIMEOUT", "SlurmTimeout"],
    ] as const) {
      const { cell, backend } = open();
      await cell.submit(backend, cellSpec());
      await cell.interrupt();
      backend.job.die({ state });
      const end = await cell.finished;
      expect(end.outcome).toMatchObject({ kind: "died", failure: { name } });
      if (name === "KeyboardInterrupt") {
        expect(end.outcome.kind === "died" && end.outcome.failure.message).toBe(
          "the cell was interrupted and its job 28 cancelled",
        );
      }
    }
  });

  test("following that fails inside the server: lost, with what failed", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.breakFollowing(new Error("disk on fire"));
    expect((await cell.finished).outcome).toEqual({
      kind: "lost",
      message: "following job 28 failed: disk on fire",
    });
  });

  test("a refused submission ends the cell and is thrown to the caller", async () => {
    const { cell, events, backend } = open();
    backend.refuse = new SubmitError("Invalid account", "Check --account");
    await expect(cell.submit(backend, cellSpec())).rejects.toBe(backend.refuse);
    expect((await cell.finished).outcome).toEqual({ kind: "refused", error: backend.refuse });
    expect(phases(events)).toEqual(["submitting", "ended"]);
    expect(cell.jobId).toBeUndefined();
  });

  test("the end is told once, whatever comes after", async () => {
    const { cell, events, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.end({ kind: "ended", status: "ok" });
    await cell.finished;
    backend.job.listener.onStatus({ jobId: "28", state: "RUNNING" });
    expect(phases(events).filter((p) => p === "ended")).toHaveLength(1);
    expect(cell.queueStatus).toBeUndefined();
  });
});

describe("interrupt and cancel", () => {
  test("first interrupt reaches the job, the second cancels it, later ones do nothing more", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    await cell.interrupt();
    expect(backend.job).toMatchObject({ interrupts: 1, cancels: 0 });
    await cell.interrupt();
    await cell.interrupt();
    expect(backend.job).toMatchObject({ interrupts: 1, cancels: 1 });
  });

  test("an interrupt while submitting is applied once the job exists: it is cancelled", async () => {
    const { cell, backend } = open();
    const submitting = cell.submit(backend, cellSpec());
    await cell.interrupt();
    await submitting;
    await Promise.resolve();
    expect(backend.job.cancels).toBe(1);
  });

  test("a cancel while submitting (kernel shut down) cancels the job once it exists", async () => {
    const { cell, backend } = open();
    const submitting = cell.submit(backend, cellSpec());
    await cell.cancel();
    await submitting;
    await cell.cancel();
    expect(backend.job.cancels).toBe(1);
  });

  test("an ended cell is not cancelled", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.end({ kind: "ended", status: "ok" });
    await cell.finished;
    await cell.cancel();
    expect(backend.job.cancels).toBe(0);
  });

  test("a failed interrupt is reported, not thrown", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.interrupt = () => Promise.reject(new Error("scancel: connection lost"));
    await cell.interrupt();
    expect(warnings).toEqual(["interrupt of 28 failed: scancel: connection lost"]);
  });
});

describe("input()", () => {
  test("asked of the frontend when it accepts input, answered back to the job", async () => {
    const { cell, events, backend } = open();
    await cell.submit(backend, cellSpec());
    backend.job.emit({ type: "input_request", seq: 1, prompt: "name? ", password: false });
    expect(events.at(-1)).toEqual({ type: "input", seq: 1, prompt: "name? ", password: false });
    cell.answerInput(1, { value: "Maya" });
    await Promise.resolve();
    expect(backend.job.answers).toEqual([[1, { value: "Maya" }]]);
  });

  test("answered with an error at once when the frontend does not accept input", async () => {
    const { cell, events, backend } = open({ origin: { ...cellInfo().origin, allowStdin: false } });
    await cell.submit(backend, cellSpec());
    backend.job.emit({ type: "input_request", seq: 2, prompt: "? ", password: true });
    await Promise.resolve();
    expect(events.some((e) => e.type === "input")).toBe(false);
    expect(backend.job.answers).toEqual([
      [2, { error: "input() is not available: this frontend does not accept input requests" }],
    ]);
  });
});

test("trouble reading the job's files is told and logged, and the cell goes on", async () => {
  const { cell, events, backend } = open();
  await cell.submit(backend, cellSpec());
  backend.job.listener.onTrouble("connection lost");
  expect(events.at(-1)).toEqual({ type: "trouble", message: "connection lost" });
  expect(warnings).toEqual(["cell 1: reading job output failed, retrying: connection lost"]);
  expect(cell.phase.name).toBe("queued");
});

test("a resumed cell follows its job from the offsets already delivered", async () => {
  const { cell, backend } = open();
  const from = { events: 120, stdout: 5, stderr: 0 };
  cell.resume(backend, { jobId: "77", sessionDir: "/work/s1", seq: 1 }, NOW - 60_000, from);
  expect(cell.phase).toMatchObject({ name: "queued", jobId: "77" });
  expect(cell.submitted).toBe(NOW - 60_000);
  expect(cell.offsets).toEqual(from);
  expect(backend.job.from).toEqual(from);
  backend.job.listener.onOffsets({ events: 200, stdout: 5, stderr: 0 });
  expect(cell.offsets).toEqual({ events: 200, stdout: 5, stderr: 0 });
});

describe("arrays and srun cells: tasks", () => {
  const died = (jobId: string, state: "TIMEOUT" | "CANCELLED", started = true) => ({
    kind: "died" as const,
    final: { jobId, state, exitCode: 0, signal: 15, elapsed: "0:01:27" },
    started,
    stderrTail: "",
  });
  const raised = { kind: "ended" as const, status: "error" as const };

  test("where the tasks are is passed on; every task done: completed", async () => {
    const { cell, events, backend } = open();
    await cell.submit(backend, cellSpec({ array: { spec: "0-2" } }));
    const summary = {
      unit: "task" as const,
      jobId: "28",
      total: 3,
      pending: 1,
      running: 2,
      done: 0,
      failed: [],
    };
    backend.job.listener.onParts!(summary);
    expect(events.filter((e) => e.type === "parts")).toEqual([{ type: "parts", summary }]);
    expect(cell.parts).toBe(summary);
    backend.job.end({ kind: "parts", summary: { ...summary, pending: 0, running: 0, done: 3 } });
    const end = await cell.finished;
    expect(end.outcome).toEqual({ kind: "completed" });
    expect(end.state).toBe("COMPLETED");
  });

  test("failed tasks: each told as a single cell's failure would be (its own exception, or the diagnosis)", async () => {
    const { cell, backend } = open({ requested: { time: "0:01:00" } });
    await cell.submit(backend, cellSpec({ array: { spec: "0-19" } }));
    const failed = [
      {
        index: 7,
        jobId: "28_7",
        outcome: raised,
        error: { ename: "ValueError", evalue: "bad lr", traceback: [] },
      },
      { index: 13, jobId: "28_13", outcome: died("28_13", "TIMEOUT") },
    ];
    backend.job.end({
      kind: "parts",
      summary: { unit: "task", jobId: "28", total: 20, pending: 0, running: 0, done: 18, failed },
    });
    const end = await cell.finished;
    expect(end.state).toBe("FAILED");
    expect(end.outcome).toMatchObject({
      kind: "parts",
      interrupted: false,
      failures: [
        { index: 7, jobId: "28_7", state: "FAILED", failure: { name: "ValueError", message: "bad lr" } },
        { index: 13, jobId: "28_13", state: "TIMEOUT", failure: { name: "SlurmTimeout" } },
      ],
    });
    const timeout = end.outcome.kind === "parts" ? end.outcome.failures[1]!.failure.message : "";
    expect(timeout).toMatch(/--time=0:01:00 after 0:01:27/);
  });

  test("an interrupted array says so", async () => {
    const { cell, backend } = open();
    await cell.submit(backend, cellSpec({ array: { spec: "0-1" } }));
    backend.job.start();
    await cell.interrupt();
    backend.job.end({
      kind: "parts",
      summary: {
        unit: "task",
        jobId: "28",
        total: 2,
        pending: 0,
        running: 0,
        done: 0,
        failed: [{ index: 1, jobId: "28_1", outcome: died("28_1", "CANCELLED", false) }],
      },
    });
    expect((await cell.finished).outcome).toMatchObject({ kind: "parts", interrupted: true });
  });

  test("srun: rank 0's exception is the cell's own (it reached the cell as it happened)", async () => {
    const { cell, backend } = open({ mode: "srun" });
    await cell.submit(backend, cellSpec({ mode: "srun" }));
    backend.job.emit({ type: "error", ename: "RuntimeError", evalue: "rank zero", traceback: [] });
    backend.job.end({
      kind: "parts",
      summary: {
        unit: "rank",
        jobId: "28",
        total: 2,
        pending: 0,
        running: 0,
        done: 0,
        failed: [
          { index: 0, jobId: "28", outcome: raised },
          {
            index: 1,
            jobId: "28",
            outcome: raised,
            error: { ename: "OSError", evalue: "r1", traceback: [] },
          },
        ],
      },
    });
    expect((await cell.finished).outcome).toMatchObject({
      kind: "parts",
      failures: [
        { failure: { name: "RuntimeError", message: "rank zero" } },
        { failure: { name: "OSError" } },
      ],
    });
  });

  test("a %%bash cell's death speaks of its script, not of Python", async () => {
    const { cell, backend } = open({ mode: "bash" });
    await cell.submit(backend, cellSpec({ mode: "bash" }));
    backend.job.start();
    backend.job.die({ state: "FAILED", exitCode: 0, signal: 9 });
    const end = await cell.finished;
    expect(end.outcome.kind === "died" && end.outcome.failure.message).toMatch(
      /^the cell's script was killed by signal 9/,
    );
  });
});

describe("--after: a dependency that failed", () => {
  const after = [{ jobId: "4519", label: "cell 12 (job 4519)" }];

  test("DependencyNeverSatisfied: the job is cancelled at once and the cell ends saying what it waited for", async () => {
    const { cell, backend } = open({ after });
    await cell.submit(backend, cellSpec());
    backend.job.listener.onStatus({ jobId: "28", state: "PENDING", reason: "Dependency" });
    expect(backend.job.cancels).toBe(0);
    backend.job.listener.onStatus({ jobId: "28", state: "PENDING", reason: "DependencyNeverSatisfied" });
    backend.job.listener.onStatus({ jobId: "28", state: "PENDING", reason: "DependencyNeverSatisfied" });
    await Promise.resolve();
    expect(backend.job.cancels).toBe(1);
    backend.job.die({ state: "CANCELLED", exitCode: 0 });
    const end = await cell.finished;
    expect(end.outcome).toMatchObject({ kind: "died", failure: { name: "DependencyNeverSatisfied" } });
    expect(end.outcome.kind === "died" && end.outcome.failure.message).toBe(
      "job 28 can never start: it runs only after cell 12 (job 4519) completed successfully (--after), and that failed; its job was cancelled. Run it again, then this cell.",
    );
  });

  test("where Slurm cancels such jobs itself (kill_invalid_depend): told the same way", async () => {
    const { cell, backend } = open({ after });
    await cell.submit(backend, cellSpec());
    backend.job.listener.onStatus({ jobId: "28", state: "PENDING", reason: "Dependency" });
    backend.job.die({ state: "CANCELLED", exitCode: 0 });
    const end = await cell.finished;
    expect(end.outcome).toMatchObject({ kind: "died", failure: { name: "DependencyNeverSatisfied" } });
    expect(end.outcome.kind === "died" && end.outcome.failure.message).toMatch(/Slurm cancelled it/);
  });

  test("cancelled by the user while it waited: a plain cancel", async () => {
    const { cell, backend } = open({ after });
    await cell.submit(backend, cellSpec());
    backend.job.listener.onStatus({ jobId: "28", state: "PENDING", reason: "Dependency" });
    await cell.cancel();
    backend.job.die({ state: "CANCELLED", exitCode: 0 });
    expect((await cell.finished).outcome).toMatchObject({
      kind: "died",
      failure: { name: "SlurmCancelled" },
    });
  });
});
