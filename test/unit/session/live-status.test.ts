/**
 * A cell's live status line: display_data once, then update_display_data with the same
 * display_id for every change; its clock ticks locally; a detached cell's line ends only with
 * its detached result.
 */
import { LiveStatus } from "../../../src/session/live-status";
import type { JobStatus } from "../../../src/jobs/scheduler";

interface Published {
  type: "display_data" | "update_display_data";
  text: string;
  html: string;
  id: string;
}

let published: Published[];
const texts = () => published.map((p) => p.text);
function live(init: ConstructorParameters<typeof LiveStatus>[1] = {}): LiveStatus {
  return new LiveStatus((type, data, id) => {
    published.push({ type, text: data["text/plain"]!, html: data["text/html"]!, id });
  }, init);
}

const NOW = new Date(2026, 10, 25, 14, 0, 0).getTime();
beforeEach(() => {
  jest.useFakeTimers({ now: NOW });
  published = [];
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

test("display_data once, then update_display_data with the same display_id", () => {
  const s = live({ partition: "acpu" });
  s.submitted("28");
  s.status(pending("Priority"));
  s.status(running);
  s.finish({ kind: "done", ok: true, seconds: 3, maxRss: "410M" });
  expect(published.map((p) => p.type)).toEqual([
    "display_data",
    "update_display_data",
    "update_display_data",
    "update_display_data",
  ]);
  expect(new Set(published.map((p) => p.id))).toEqual(new Set([s.displayId]));
  expect(s.displayId).toMatch(/^alpine-kernel-status-/);
  expect(texts()).toEqual([
    "⏳ queued as job 28 on acpu — waiting for the scheduler, waiting 0:00",
    "⏳ queued as job 28 on acpu — Priority, waiting 0:00",
    "▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 0:15",
    "✔ job 28 completed in 0:03 · MaxRSS 410M",
  ]);
});

test("a line already on screen (resumed after a restart) is only updated", () => {
  const s = live({ jobId: "28", detached: true, displayId: "alpine-kernel-status-old" });
  s.submitted("28");
  expect(published.map((p) => [p.type, p.id])).toEqual([["update_display_data", "alpine-kernel-status-old"]]);
});

describe("statuses from the watcher", () => {
  const cases: [string, JobStatus[], string][] = [
    [
      "PENDING with a reason",
      [pending("Resources")],
      "⏳ queued as job 28 on acpu — Resources, waiting 0:00",
    ],
    [
      "CONFIGURING is still queued",
      [{ ...pending("None"), state: "CONFIGURING" }],
      "⏳ queued as job 28 on acpu — waiting for the scheduler, waiting 0:00",
    ],
    [
      "REQUEUED is queued again",
      [running, { ...pending("BeginTime"), state: "REQUEUED" }],
      "⏳ queued as job 28 on acpu — BeginTime, waiting 0:00",
    ],
    [
      "RUNNING: node, resources, time from squeue's elapsed",
      [running],
      "▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 0:15",
    ],
    [
      "COMPLETING is still running",
      [running, { ...running, state: "COMPLETING" }],
      "▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 0:15",
    ],
  ];
  test.each(cases)("%s", (_n, statuses, last) => {
    const s = live({ partition: "acpu" });
    s.submitted("28");
    for (const st of statuses) s.status(st);
    expect(texts().at(-1)).toBe(last);
    s.stop();
  });

  test.each(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"] as const)(
    "%s from squeue does not end the line (the cell's end does)",
    (state) => {
      const s = live({ partition: "acpu" });
      s.submitted("28");
      s.status(running);
      const before = published.length;
      s.status({ ...running, state });
      expect(published).toHaveLength(before);
      s.stop();
    },
  );

  test("the waiting clock keeps counting from the first queued moment across reason changes", () => {
    const s = live({ partition: "acpu" });
    s.submitted("28");
    jest.setSystemTime(NOW + 30_000);
    s.status(pending("Priority"));
    jest.setSystemTime(NOW + 61_000);
    s.status(pending("Resources"));
    expect(texts().at(-1)).toBe("⏳ queued as job 28 on acpu — Resources, waiting 1:01");
    s.stop();
  });

  test("the runner's start marker wins over squeue: its host and time", () => {
    const s = live({ partition: "acpu" });
    s.submitted("28");
    s.started("c3cpu-a1-u1-2", NOW - 5000);
    expect(texts().at(-1)).toBe("▶ job 28 running on c3cpu-a1-u1-2 for 0:05");
    s.status(running); // squeue's later, coarser elapsed does not move the clock
    expect(texts().at(-1)).toBe("▶ job 28 running on c3cpu-a1-u1-1 (4 CPUs, 2G) for 0:05");
    expect(s.elapsedSeconds).toBe(5);
    s.stop();
  });
});

test("the line re-renders every 5 s while queued or running, and stops at the end", () => {
  const s = live({ partition: "acpu" });
  s.submitted("28");
  jest.advanceTimersByTime(5000);
  expect(texts().at(-1)).toBe("⏳ queued as job 28 on acpu — waiting for the scheduler, waiting 0:05");
  jest.advanceTimersByTime(5000);
  expect(published).toHaveLength(3);
  s.finish({ kind: "done", ok: false, seconds: 10, detail: "ended with ValueError" });
  const n = published.length;
  jest.advanceTimersByTime(60_000);
  expect(published).toHaveLength(n);
  expect(texts().at(-1)).toBe("✖ job 28 ended with ValueError after 0:10");
});

test("trouble is shown once per message, and cleared by the final line", () => {
  const s = live({ partition: "acpu" });
  s.submitted("28");
  s.trouble("scheduler not answering, retrying");
  s.trouble("scheduler not answering, retrying");
  expect(texts().filter((t) => t.endsWith(" — scheduler not answering, retrying"))).toHaveLength(1);
  s.trouble(undefined);
  expect(texts().at(-1)).toBe("⏳ queued as job 28 on acpu — waiting for the scheduler, waiting 0:00");
  s.trouble("connection lost, reconnecting");
  s.finish({ kind: "done", ok: true, seconds: 1 });
  expect(texts().at(-1)).toBe("✔ job 28 completed in 0:01");
});

describe("a detached cell", () => {
  test("ignores the plain 'done' and ends with its detached result and output", () => {
    const s = live({ partition: "acpu", detached: true });
    s.submitted("28");
    const n = published.length;
    s.finish({ kind: "done", ok: true, seconds: 3 });
    expect(published).toHaveLength(n);
    s.finish({ kind: "detached-done", ok: true, seconds: 61 }, { html: "<pre>42</pre>", text: "42" });
    const last = published.at(-1)!;
    expect(last.type).toBe("update_display_data");
    expect(last.id).toBe(s.displayId);
    expect(last.text).toBe("✔ detached job 28 completed in 1:01\n42");
    expect(last.html).toMatch(/<pre>42<\/pre>$/);
    jest.advanceTimersByTime(60_000);
    expect(published.at(-1)).toBe(last);
  });

  test("says the notebook stays free while it waits", () => {
    const s = live({ partition: "acpu", detached: true });
    s.submitted("28");
    expect(texts()[0]).toMatch(/ · detached: the notebook stays free; output appears here when it ends$/);
    s.stop();
  });
});
