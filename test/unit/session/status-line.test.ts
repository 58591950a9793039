/**
 * A cell's status line, a subscriber of the cell: display_data once the cell is queued, then
 * update_display_data with the same display_id for every change; its clock ticks locally; the
 * cluster's troubles show while they last; a detached cell's line ends with its output.
 */
import { Cell } from "../../../src/cells/cell";
import { ClusterHealth } from "../../../src/jobs/cluster-health";
import type { JobStatus } from "../../../src/jobs/scheduler";
import { StatusLine, type StatusLineOptions } from "../../../src/session/status-line";
import { FakeBackend, cellInfo, cellSpec } from "../cells/fake-backend";

interface Published {
  type: "display_data" | "update_display_data";
  text: string;
  html: string;
  id: string;
}

let published: Published[];
let health: ClusterHealth;
const texts = () => published.map((p) => p.text);

async function live(
  over: { detached?: boolean } & Partial<StatusLineOptions> = {},
): Promise<{ line: StatusLine; cell: Cell; backend: FakeBackend }> {
  const cell = new Cell(cellInfo({ detached: over.detached ?? false }), () => {});
  const line = new StatusLine(
    (type, data, id) => published.push({ type, text: data["text/plain"]!, html: data["text/html"]!, id }),
    cell,
    health,
    { displayId: "alpine-kernel-status-t", shown: false, partition: "acpu", ...over },
  );
  const backend = new FakeBackend();
  await cell.submit(backend, cellSpec());
  return { line, cell, backend };
}

const NOW = new Date(2026, 10, 25, 14, 0, 0).getTime();
beforeEach(() => {
  jest.useFakeTimers({ now: NOW, doNotFake: ["nextTick", "queueMicrotask"] });
  published = [];
  health = new ClusterHealth();
});
afterEach(() => jest.useRealTimers());

const pending = (reason: string): JobStatus => ({ jobId: "28", state: "PENDING", reason, partition: "acpu" });
const running: JobStatus = {
  jobId: "28",
  state: "RUNNING",
  node: "c3cpu-a1-u1-1",
  cpus: 4,
  memory: "2G",
  elapsed: "0:15",
  partition: "acpu",
};

test("nothing before the cell is queued; then display_data once, and update_display_data with the same display_id", async () => {
  const cell = new Cell(cellInfo(), () => {});
  new StatusLine(
    (type, data, id) => published.push({ type, text: data["text/plain"]!, html: "", id }),
    cell,
    health,
    {
      displayId: "alpine-kernel-status-t",
      shown: false,
      partition: "acpu",
    },
  );
  const backend = new FakeBackend();
  const submitting = cell.submit(backend, cellSpec());
  expect(published).toEqual([]);
  await submitting;
  backend.job.listener.onStatus(pending("Priority"));
  backend.job.listener.onStatus(running);
  jest.setSystemTime(NOW + 3000);
  backend.job.end({ kind: "ended", status: "ok", maxRss: "410M" });
  await cell.finished;
  expect(published.map((p) => p.type)).toEqual([
    "display_data",
    "update_display_data",
    "update_display_data",
    "update_display_data",
  ]);
  expect(new Set(published.map((p) => p.id))).toEqual(new Set(["alpine-kernel-status-t"]));
  expect(texts()).toEqual([
    "… queued as job 28 on acpu — waiting for the scheduler, waiting 0.0 s",
    "… queued as job 28 on acpu — Priority, waiting 0.0 s",
    "▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 15 s",
    "✔ job 28 completed in 18 s · MaxRSS 410M",
  ]);
});

test("a line already on screen (resumed after a restart) is only updated", async () => {
  await live({ detached: true, displayId: "alpine-kernel-status-old", shown: true });
  expect(published.map((p) => [p.type, p.id])).toEqual([["update_display_data", "alpine-kernel-status-old"]]);
});

describe("statuses from the watcher", () => {
  const cases: [string, JobStatus[], string][] = [
    [
      "PENDING with a reason",
      [pending("Resources")],
      "… queued as job 28 on acpu — Resources, waiting 0.0 s",
    ],
    [
      "CONFIGURING is still queued",
      [{ ...pending("None"), state: "CONFIGURING" }],
      "… queued as job 28 on acpu — waiting for the scheduler, waiting 0.0 s",
    ],
    [
      "REQUEUED is queued again",
      [running, { ...pending("BeginTime"), state: "REQUEUED" }],
      "… queued as job 28 on acpu — BeginTime, waiting 0.0 s",
    ],
    [
      "RUNNING: node, resources, time from squeue's elapsed",
      [running],
      "▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 15 s",
    ],
    [
      "COMPLETING is still running",
      [running, { ...running, state: "COMPLETING" }],
      "▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 15 s",
    ],
  ];
  test.each(cases)("%s", async (_n, statuses, last) => {
    const { line, backend } = await live();
    for (const st of statuses) backend.job.listener.onStatus(st);
    expect(texts().at(-1)).toBe(last);
    line.stop();
  });

  test.each(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"] as const)(
    "%s from squeue does not end the line (the cell's end does)",
    async (state) => {
      const { line, backend } = await live();
      backend.job.listener.onStatus(running);
      const before = published.length;
      backend.job.listener.onStatus({ ...running, state });
      expect(published).toHaveLength(before);
      line.stop();
    },
  );

  test("the waiting clock keeps counting from the first queued moment across reason changes", async () => {
    const { line, backend } = await live();
    jest.setSystemTime(NOW + 30_000);
    backend.job.listener.onStatus(pending("Priority"));
    jest.setSystemTime(NOW + 61_000);
    backend.job.listener.onStatus(pending("Resources"));
    expect(texts().at(-1)).toBe("… queued as job 28 on acpu — Resources, waiting 1:01");
    line.stop();
  });

  test("the runner's start marker wins over squeue: its host and time", async () => {
    const { cell, backend } = await live();
    backend.job.start("c3cpu-a1-u1-2", NOW - 5000);
    expect(texts().at(-1)).toBe("▶ job 28 running on c3cpu-a1-u1-2 for 5 s");
    backend.job.listener.onStatus(running); // squeue's later, coarser elapsed does not move the clock
    expect(texts().at(-1)).toBe("▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 5 s");
    backend.job.end({ kind: "ended", status: "ok" });
    expect((await cell.finished).seconds).toBe(5);
  });
});

test("the line re-renders every 5 s while queued or running, and stops at the end", async () => {
  const { cell, backend } = await live();
  jest.advanceTimersByTime(5000);
  expect(texts().at(-1)).toBe("… queued as job 28 on acpu — waiting for the scheduler, waiting 5 s");
  jest.advanceTimersByTime(5000);
  expect(published).toHaveLength(3);
  backend.job.start("c3cpu-a1-u1-1", Date.now());
  jest.setSystemTime(Date.now() + 10_000);
  backend.job.emit({ type: "error", ename: "ValueError", evalue: "bad", traceback: [] });
  backend.job.end({ kind: "ended", status: "error" });
  await cell.finished;
  const n = published.length;
  jest.advanceTimersByTime(60_000);
  expect(published).toHaveLength(n);
  expect(texts().at(-1)).toBe("✖ job 28 ended with ValueError after 10 s");
});

test("the cluster's trouble is shown once per message, and cleared by the final line", async () => {
  const { cell, backend } = await live();
  health.report("scheduler not answering, retrying");
  health.report("scheduler not answering, retrying");
  expect(texts().filter((t) => t.endsWith(" — scheduler not answering, retrying"))).toHaveLength(1);
  health.report(undefined);
  expect(texts().at(-1)).toBe("… queued as job 28 on acpu — waiting for the scheduler, waiting 0.0 s");
  health.report("connection lost, reconnecting");
  backend.job.start("n1", Date.now() - 1000);
  backend.job.end({ kind: "ended", status: "ok" });
  await cell.finished;
  expect(texts().at(-1)).toBe("✔ job 28 completed in 1 s");
  const n = published.length;
  health.report("scheduler not answering, retrying");
  expect(published).toHaveLength(n); // an ended line no longer listens
});

test("trouble reading the job's own output is shown on its line", async () => {
  const { line, backend } = await live();
  backend.job.listener.onTrouble("ECONNRESET");
  expect(texts().at(-1)).toMatch(/ — cannot read the job's output right now, retrying$/);
  line.stop();
});

test("trouble before the cell is queued (logging in) shows on a line of its own", () => {
  const cell = new Cell(cellInfo(), () => {});
  new StatusLine(
    (type, data, id) => published.push({ type, text: data["text/plain"]!, html: "", id }),
    cell,
    health,
    {
      displayId: "alpine-kernel-status-t",
      shown: false,
    },
  );
  health.report("connecting to alpine…");
  expect(published.map((p) => [p.type, p.text])).toEqual([
    ["display_data", "… submitting — connecting to alpine…"],
  ]);
});

describe("a detached cell", () => {
  test("ends with its detached result and the output collected under it", async () => {
    const { cell, backend } = await live({
      detached: true,
      collected: (jobId) => ({ html: `<pre>${jobId}</pre>`, text: "42" }),
    });
    backend.job.start("n1", Date.now());
    jest.setSystemTime(Date.now() + 61_000);
    backend.job.end({ kind: "ended", status: "ok" });
    await cell.finished;
    const last = published.at(-1)!;
    expect(last.type).toBe("update_display_data");
    expect(last.id).toBe("alpine-kernel-status-t");
    expect(last.text).toBe("✔ detached job 28 completed in 1:01\n42");
    expect(last.html).toMatch(/<pre>28<\/pre>$/);
    jest.advanceTimersByTime(60_000);
    expect(published.at(-1)).toBe(last);
  });

  test("says the notebook stays free while it waits", async () => {
    const { line } = await live({ detached: true });
    expect(texts()[0]).toMatch(/ · detached: the notebook stays free; output appears here when it ends$/);
    line.stop();
  });
});

describe("what the cell did with the namespace", () => {
  const namespaceEvent = (over: Record<string, number>) => ({
    type: "namespace" as const,
    saved: 3,
    skipped: {},
    bytes: 6 * 1024 ** 3,
    seconds: 0.4,
    total: 14,
    loaded: 2,
    loaded_bytes: 1024 ** 2,
    mapped_bytes: 4 * 1024 ** 3,
    load_seconds: 0.8,
    written: 1,
    written_bytes: 100 * 1024 ** 2,
    ...over,
  });

  test("a cell that moved a lot of data says how much and how long on its final line", async () => {
    const { cell, backend } = await live();
    backend.job.start("n1", Date.now() - 2000);
    backend.job.emit(namespaceEvent({}));
    backend.job.end({ kind: "ended", status: "ok", maxRss: "180M" });
    await cell.finished;
    expect(texts().at(-1)).toBe(
      "✔ job 28 completed in 2 s · MaxRSS 180M · namespace: loaded 2 of 14 names (1.0 MB read, 4.0 GB mapped) in 0.8 s; saved 1 (100 MB) in 0.4 s",
    );
  });

  test("a cell that moved little says nothing about it", async () => {
    const { cell, backend } = await live();
    backend.job.start("n1", Date.now() - 2000);
    backend.job.emit(
      namespaceEvent({
        mapped_bytes: 0,
        written_bytes: 10,
        loaded_bytes: 10,
        load_seconds: 0.01,
        seconds: 0.01,
      }),
    );
    backend.job.end({ kind: "ended", status: "ok" });
    await cell.finished;
    expect(texts().at(-1)).toBe("✔ job 28 completed in 2 s");
  });
});

describe("a quiet line (local attached cells)", () => {
  test("shows nothing while the cell runs, nor at its end when the namespace moved little", async () => {
    const { cell, backend } = await live({ quiet: true });
    backend.job.listener.onStatus(running);
    backend.job.start("n1", Date.now() - 1000);
    backend.job.emit({ type: "namespace", saved: 1, skipped: {}, bytes: 10, seconds: 0.01, written: 1 });
    backend.job.end({ kind: "ended", status: "ok" });
    await cell.finished;
    expect(published).toEqual([]);
  });

  test("shows one line at the end of a cell that moved a lot of data", async () => {
    const { cell, backend } = await live({ quiet: true });
    backend.job.start("n1", Date.now() - 1000);
    backend.job.emit({
      type: "namespace",
      saved: 1,
      skipped: {},
      seconds: 0.3,
      loaded: 1,
      total: 1,
      mapped_bytes: 2 * 1024 ** 3,
      load_seconds: 0.01,
    });
    backend.job.end({ kind: "ended", status: "ok" });
    await cell.finished;
    expect(published.map((p) => [p.type, p.text])).toEqual([
      ["display_data", "✔ job 28 completed in 1 s · namespace: loaded 1 of 1 name (2.0 GB mapped) in <0.1 s"],
    ]);
  });
});
