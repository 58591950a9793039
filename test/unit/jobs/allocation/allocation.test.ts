/**
 * An allocation's life from the server's side, with a fake scheduler and the daemon's events
 * written by the test: queued → starting → ready → ended, the end time told to the daemon, the
 * requests it is sent, a save waited for, a release, and the liveness of the cells it runs.
 */
import { Allocation, type AllocationNews } from "../../../../src/jobs/allocation/allocation";
import type { AllocationInfo } from "../../../../src/jobs/allocation/allocation-types";
import { cellLiveness } from "../../../../src/jobs/allocation/cell-liveness";
import type { JobStatus } from "../../../../src/jobs/scheduler";
import { FakeScheduler, MemoryTransport, until } from "./fakes";

const INFO: AllocationInfo = {
  id: "s1/1",
  sessionId: "s1",
  notebookKey: "/nb/a.ipynb",
  notebook: "a.ipynb",
  n: 1,
  jobId: "77",
  sessionDir: "/w/s1",
  workDir: "/nb",
  sbatch: [["--mem", "2G"]],
  submitted: Date.now(),
};
const EVENTS = "/w/s1/allocations/1/events.jsonl";
const REQUESTS = "/w/s1/allocations/1/requests";

function setup() {
  const transport = new MemoryTransport();
  const scheduler = new FakeScheduler();
  const logs: string[] = [];
  const a = new Allocation(
    INFO,
    { transport, scheduler, saveAheadSeconds: 120, warnAheadSeconds: 600, log: (m) => logs.push(m) },
    { resumed: false },
  );
  const news: AllocationNews[] = [];
  a.on((n) => news.push(n));
  const daemon = (o: Record<string, unknown>) =>
    transport.append(EVENTS, JSON.stringify({ time: Date.now() / 1000, ...o }) + "\n");
  const requests = () =>
    transport
      .under(REQUESTS)
      .map((name) => JSON.parse(transport.text(`${REQUESTS}/${name}`)!) as Record<string, unknown>);
  return { transport, scheduler, a, news, daemon, requests, logs };
}

const running = (extra: Partial<JobStatus> = {}): JobStatus => ({
  jobId: "77",
  state: "RUNNING",
  node: "c3gpu",
  partition: "aa100",
  elapsed: "0:05",
  timeLimit: "1:00:00",
  cpus: 2,
  memory: "2G",
  ...extra,
});

const ready = (daemon: (o: Record<string, unknown>) => void) => {
  daemon({ type: "supervisor", host: "c3gpu", pid: 1, job_id: "77", python: "3.11" });
  daemon({ type: "worker", generation: 1, pid: 2, restored: 0 });
};

test("queued, then starting when squeue says it runs (its end told to the daemon), then ready when its Python is", async () => {
  const { a, scheduler, daemon, requests } = setup();
  expect(a.phase.name).toBe("queued");
  scheduler.status({ jobId: "77", state: "PENDING", reason: "Resources" });
  expect(a.phase).toMatchObject({ name: "queued", status: { reason: "Resources" } });
  scheduler.status(running());
  expect(a.phase.name).toBe("starting");
  expect(a.remainingSeconds()).toBeCloseTo(3595, -1);
  await until("the deadline request", () => requests().some((r) => r.kind === "deadline"));
  expect(requests()).toEqual([{ kind: "deadline", end: expect.any(Number) as number, save_ahead: 120 }]);
  ready(daemon);
  await until("ready", () => a.phase.name === "ready");
  expect(a.node).toBe("c3gpu");
  expect(a.generation).toBe(1);
  expect(a.shape()).toMatchObject({ jobId: "77", partition: "aa100", cpus: 2, memMB: 2048 });
  a.close();
});

test("a cell's liveness: pending while the allocation waits, running once taken, gone when its Python died", async () => {
  const { a, scheduler, daemon } = setup();
  await a.runCell({
    kind: "cell",
    seq: 4,
    code: "c",
    events: "e",
    stdout: "o",
    stderr: "r",
    execution_count: 1,
    silent: false,
    store_history: true,
    allow_stdin: false,
  });
  const statuses: JobStatus[] = [];
  let gone = false;
  const live = cellLiveness(a, 4);
  const off = live.watch(
    "77.c4",
    (s) => statuses.push(s),
    () => (gone = true),
  );
  expect(statuses.pop()).toMatchObject({
    jobId: "77.c4",
    state: "PENDING",
    reason: "allocation 77 queued: waiting for the scheduler",
  });
  scheduler.status(running());
  expect(statuses.pop()).toMatchObject({ state: "PENDING", reason: "allocation 77 is starting its Python" });
  ready(daemon);
  daemon({ type: "cell", seq: 4, generation: 1 });
  await until("the cell running", () => statuses.at(-1)?.state === "RUNNING");
  expect(statuses.at(-1)).toMatchObject({ state: "RUNNING", node: "c3gpu", cpus: 2, memory: "2G" });
  const count = statuses.length;
  daemon({ type: "saved", id: "x", reason: "r", skipped: "nothing changed" });
  await new Promise((r) => setTimeout(r, 150));
  expect(statuses).toHaveLength(count); // news about something else is no new status
  daemon({
    type: "died",
    generation: 1,
    seq: 4,
    during: "cell",
    exit_code: null,
    signal: 11,
    signal_name: "SIGSEGV",
    maxrss_kb: 4096,
    oom: false,
  });
  await until("gone", () => gone);
  expect(await live.final("77.c4")).toEqual({
    jobId: "77.c4",
    state: "FAILED",
    exitCode: 0,
    signal: 11,
    node: "c3gpu",
    maxRss: "4M",
  });
  off();
  a.close();
});

test("a cell is gone when the allocation ends under it; its final is the holder's", async () => {
  const { a, scheduler, daemon } = setup();
  scheduler.status(running());
  ready(daemon);
  await until("ready", () => a.phase.name === "ready");
  let gone = false;
  const live = cellLiveness(a, 1);
  live.watch(
    "77.c1",
    () => {},
    () => (gone = true),
  );
  scheduler.gone("77", { state: "TIMEOUT", exitCode: 0, signal: 15, elapsed: "1:00:00" });
  await until("gone", () => gone);
  expect(a.phase).toMatchObject({
    name: "ended",
    end: { why: "it reached its time limit", state: "TIMEOUT" },
  });
  expect(await live.final("77.c1")).toMatchObject({ jobId: "77", state: "TIMEOUT" });
});

test("save: a request, then the daemon's report; an end before it answers resolves it with an error", async () => {
  const { a, scheduler, daemon, requests } = setup();
  scheduler.status(running());
  ready(daemon);
  await until("ready", () => a.phase.name === "ready");
  const saved = a.save("a cell runs as its own job");
  await until("the save request", () => requests().some((r) => r.kind === "save"));
  const req = requests().find((r) => r.kind === "save")!;
  expect(req).toMatchObject({ reason: "a cell runs as its own job", if_dirty: true });
  daemon({ type: "saved", id: req.id, reason: "r", saved: 3, bytes: 100, seconds: 0.1 });
  expect(await saved).toMatchObject({ saved: 3 });
  expect(a.lastSave).toMatchObject({ saved: 3 });
  const never = a.save("again");
  scheduler.gone("77", { state: "NODE_FAIL", exitCode: 0, signal: 0 });
  expect(await never).toMatchObject({ error: "allocation 77 ended first" });
});

test("release of a ready allocation: a request; it has ended once its daemon exits", async () => {
  const { a, scheduler, daemon, requests } = setup();
  scheduler.status(running());
  ready(daemon);
  await until("ready", () => a.phase.name === "ready");
  const released = a.release(true);
  await until("the release request", () => requests().some((r) => r.kind === "release"));
  expect(requests().find((r) => r.kind === "release")).toEqual({ kind: "release", save: true });
  daemon({ type: "ending", reason: "released" });
  daemon({ type: "saved", id: "final", reason: "the allocation is ending", saved: 1 });
  daemon({ type: "exit", reason: "released" });
  expect(await released).toMatchObject({ why: "released", state: "COMPLETED" });
  expect(scheduler.cancelled).toEqual([]);
});

test("release of a queued allocation cancels its job; a daemon that never answers is cancelled too", async () => {
  const q = setup();
  const end = q.a.release(true);
  q.scheduler.gone("77", { state: "CANCELLED", exitCode: 0, signal: 0 });
  expect(await end).toMatchObject({ why: "released" });
  expect(q.scheduler.cancelled).toEqual(["77"]);

  const silent = setup();
  silent.scheduler.status(running());
  ready(silent.daemon);
  await until("ready", () => silent.a.phase.name === "ready");
  const ended = silent.a.release(true, 50);
  await until("the job cancelled", () => silent.scheduler.cancelled.length > 0);
  silent.scheduler.gone("77", { state: "CANCELLED", exitCode: 0, signal: 15 });
  expect(await ended).toMatchObject({ why: "released", state: "CANCELLED" });
});

test("an exit the daemon was not asked for waits for Slurm's word (a time limit is not a release)", async () => {
  const { a, scheduler, daemon } = setup();
  scheduler.status(running());
  ready(daemon);
  daemon({ type: "ending", reason: "the job was told to stop" });
  daemon({ type: "exit", reason: "the job was told to stop" });
  await new Promise((r) => setTimeout(r, 150));
  expect(a.live).toBe(true);
  scheduler.gone("77", { state: "TIMEOUT", exitCode: 0, signal: 0 });
  await until("ended", () => !a.live);
  expect(a.phase).toMatchObject({ name: "ended", end: { why: "it reached its time limit" } });
});

test("a resumed allocation replays its daemon's events without news of old deaths", async () => {
  const transport = new MemoryTransport();
  const scheduler = new FakeScheduler();
  const line = (o: Record<string, unknown>) =>
    transport.append(EVENTS, JSON.stringify({ time: 1, ...o }) + "\n");
  line({ type: "supervisor", host: "c3gpu", pid: 1, job_id: "77", python: "3.11" });
  line({ type: "worker", generation: 1, pid: 2 });
  line({ type: "died", generation: 1, seq: 2, during: "cell", signal: 9, oom: true });
  line({ type: "worker", generation: 2, pid: 3 });
  const a = new Allocation(
    INFO,
    { transport, scheduler, saveAheadSeconds: 120, warnAheadSeconds: 600, log: () => {} },
    { resumed: true },
  );
  const news: string[] = [];
  a.on((n) => news.push(n.type));
  await until("ready", () => a.phase.name === "ready");
  expect(a.generation).toBe(2);
  expect(a.deathOf(2)).toMatchObject({ oom: true });
  expect(news).not.toContain("died");
  expect(news).not.toContain("worker");
  a.close();
});

test("the holder's last stderr lines (why it ended before its Python was ready)", async () => {
  const { a, transport } = setup();
  transport.append(
    "/w/s1/allocations/1/holder.err",
    "line 1\nalpine-kernel: environment setup failed: conda activate nope\n",
  );
  expect(await a.stderrTail()).toBe("line 1\nalpine-kernel: environment setup failed: conda activate nope");
  a.close();
});
