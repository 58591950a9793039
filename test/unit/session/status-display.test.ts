/** A cell's status line for every phase, as text and as a display bundle; short durations. */
import {
  formatBytes,
  namespaceNote,
  newDisplayId,
  notesBundle,
  pythonNote,
  shortDuration,
  statusBundle,
  statusText,
  type StatusView,
} from "../../../src/session/status-display";
import { startFromElapsed } from "../../../src/jobs/slurm/slurm-time";

// 25 Nov 2026, 14:00 local time: start estimates on that day show as a clock time.
const NOW = new Date(2026, 10, 25, 14, 0, 0).getTime();
beforeEach(() => jest.useFakeTimers({ now: NOW }));
afterEach(() => jest.useRealTimers());

const ago = (s: number) => NOW - s * 1000;
const DETACHED = " · detached: the notebook stays free; output appears here when it ends";

describe("shortDuration", () => {
  const cases: [number, string][] = [
    [0, "0.0 s"],
    [0.4, "0.4 s"],
    [0.94, "0.9 s"],
    [0.96, "1 s"],
    [6, "6 s"],
    [59.4, "59 s"],
    [59.5, "1:00"],
    [761, "12:41"],
    [3599, "59:59"],
    [3599.5, "1:00:00"],
    [3723, "1:02:03"],
    [2 * 86400 + 3600, "2-01:00:00"],
    [-5, "0.0 s"],
  ];
  test.each(cases)("%p s → %s", (seconds, text) => {
    expect(shortDuration(seconds)).toBe(text);
  });
});

describe("statusText", () => {
  const cases: [string, StatusView, string][] = [
    ["submitting", { phase: { kind: "submitting" } }, "… submitting"],
    [
      "queued, before the first squeue",
      { jobId: "28", phase: { kind: "queued", since: ago(6) } },
      "… queued as job 28 on the default partition — waiting for the scheduler, waiting 6 s",
    ],
    [
      "queued, the partition the cell asked for",
      { jobId: "28", partition: "acpu", phase: { kind: "queued", since: ago(6) } },
      "… queued as job 28 on acpu — waiting for the scheduler, waiting 6 s",
    ],
    [
      "queued with a reason and a start estimate today",
      {
        jobId: "28",
        partition: "acpu",
        phase: {
          kind: "queued",
          since: ago(761),
          status: {
            jobId: "28",
            state: "PENDING",
            reason: "Priority",
            partition: "amem",
            startTime: "2026-11-25T14:30:00",
          },
        },
      },
      "… queued as job 28 on amem — Priority, waiting 12:41, est. start 14:30",
    ],
    [
      "queued, a start estimate on another day shows its date",
      {
        jobId: "31",
        phase: {
          kind: "queued",
          since: ago(0),
          status: { jobId: "31", state: "PENDING", reason: "BeginTime", startTime: "2026-11-26T09:05:00" },
        },
      },
      "… queued as job 31 on the default partition — BeginTime, waiting 0.0 s, est. start 11-26 09:05",
    ],
    [
      "queued, reason None (not looked at yet) and no estimate",
      {
        jobId: "30",
        phase: {
          kind: "queued",
          since: ago(1),
          status: { jobId: "30", state: "PENDING", reason: "None", startTime: "N/A" },
        },
      },
      "… queued as job 30 on the default partition — waiting for the scheduler, waiting 1 s",
    ],
    [
      "running with its node and resources",
      {
        jobId: "24",
        phase: { kind: "running", node: "c3cpu-a1-u1-1", cpus: 4, memory: "2G", gpus: 1, since: ago(3723) },
      },
      "▶ job 24 running on c3cpu-a1-u1-1 (4 CPUs, 2G, 1 GPU) for 1:02:03",
    ],
    [
      "running: one CPU, two GPUs",
      { jobId: "29", phase: { kind: "running", cpus: 1, gpus: 2, since: ago(15) } },
      "▶ job 29 running (1 CPU, 2 GPUs) for 15 s",
    ],
    [
      "running, nothing known yet",
      { jobId: "24", phase: { kind: "running", since: ago(0) } },
      "▶ job 24 running for 0.0 s",
    ],
    [
      "completed, with MaxRSS",
      { jobId: "24", phase: { kind: "done", ok: true, seconds: 2.4, maxRss: "410M" } },
      "✔ job 24 completed in 2 s · MaxRSS 410M",
    ],
    [
      "completed",
      { jobId: "24", phase: { kind: "done", ok: true, seconds: 75 } },
      "✔ job 24 completed in 1:15",
    ],
    [
      "failed, with what happened",
      { jobId: "31", phase: { kind: "done", ok: false, seconds: 90000, detail: "ran out of memory" } },
      "✖ job 31 ran out of memory after 1-01:00:00",
    ],
    ["failed", { jobId: "30", phase: { kind: "done", ok: false, seconds: 1 } }, "✖ job 30 failed after 1 s"],
    [
      "detached, queued: says the notebook stays free",
      { jobId: "28", detached: true, phase: { kind: "queued", since: ago(6) } },
      `… queued as job 28 on the default partition — waiting for the scheduler, waiting 6 s${DETACHED}`,
    ],
    [
      "detached, completed",
      { jobId: "28", detached: true, phase: { kind: "detached-done", ok: true, seconds: 61 } },
      "✔ detached job 28 completed in 1:01",
    ],
    [
      "detached, completed, duration unknown (followed after a restart)",
      { jobId: "28", detached: true, phase: { kind: "detached-done", ok: true } },
      "✔ detached job 28 completed",
    ],
    [
      "detached, failed",
      {
        jobId: "28",
        detached: true,
        phase: { kind: "detached-done", ok: false, detail: "ended with ZeroDivisionError" },
      },
      "✖ detached job 28 ended with ZeroDivisionError",
    ],
    [
      "detached, failed without detail",
      { jobId: "28", detached: true, phase: { kind: "detached-done", ok: false } },
      "✖ detached job 28 failed",
    ],
    [
      "trouble is appended",
      {
        jobId: "28",
        trouble: "scheduler not answering, retrying",
        phase: { kind: "running", since: ago(5) },
      },
      "▶ job 28 running for 5 s — scheduler not answering, retrying",
    ],
    [
      "trouble after the detached note",
      {
        jobId: "28",
        detached: true,
        trouble: "connection lost, reconnecting",
        phase: { kind: "running", since: ago(5) },
      },
      `▶ job 28 running for 5 s${DETACHED} — connection lost, reconnecting`,
    ],
  ];
  test.each(cases)("%s", (_name, view, text) => {
    expect(statusText(view)).toBe(text);
  });

  test("the waiting clock ticks with time", () => {
    const view: StatusView = { jobId: "28", partition: "acpu", phase: { kind: "queued", since: NOW } };
    jest.advanceTimersByTime(65_000);
    expect(statusText(view)).toContain("waiting 1:05");
  });
});

describe("statusBundle", () => {
  const GREY = "#37474f";
  const GREEN = "#1b5e20";
  const RED = "#b71c1c";
  const cases: [string, StatusView, string][] = [
    ["submitting", { phase: { kind: "submitting" } }, GREY],
    ["queued", { jobId: "1", phase: { kind: "queued", since: NOW } }, GREY],
    ["running", { jobId: "1", phase: { kind: "running", since: NOW } }, GREY],
    ["completed", { jobId: "1", phase: { kind: "done", ok: true, seconds: 1 } }, GREEN],
    ["failed", { jobId: "1", phase: { kind: "done", ok: false, seconds: 1 } }, RED],
    ["detached completed", { jobId: "1", phase: { kind: "detached-done", ok: true } }, GREEN],
    ["detached failed", { jobId: "1", phase: { kind: "detached-done", ok: false } }, RED],
  ];
  test.each(cases)("%s: text/plain is the line, text/html the line in its colour", (_n, view, color) => {
    const b = statusBundle(view);
    expect(Object.keys(b).sort()).toEqual(["text/html", "text/plain"]);
    expect(b["text/plain"]).toBe(statusText(view));
    expect(b["text/html"]).toBe(
      `<div class="alpine-kernel-status" style="font-family:monospace;color:${color}">${statusText(view)}</div>`,
    );
  });

  test("HTML special characters in the line are escaped", () => {
    const view: StatusView = {
      jobId: "7",
      phase: { kind: "done", ok: false, seconds: 1, detail: `exited with <code> 1 & "oops"` },
    };
    expect(statusBundle(view)["text/html"]).toContain(
      "✖ job 7 exited with &lt;code&gt; 1 &amp; &quot;oops&quot; after 1 s</div>",
    );
    expect(statusBundle(view)["text/plain"]).toContain(`<code> 1 & "oops"`);
  });

  test("extra output goes under the line", () => {
    const view: StatusView = { jobId: "7", phase: { kind: "detached-done", ok: true } };
    const b = statusBundle(view, "<pre>42</pre>", "42");
    expect(b["text/plain"]).toBe("✔ detached job 7 completed\n42");
    expect(b["text/html"]).toMatch(/<\/div><pre>42<\/pre>$/);
  });
});

describe("startFromElapsed", () => {
  const cases: [string | undefined, number | undefined][] = [
    ["0:15", NOW - 15_000],
    ["1:02:03", NOW - 3_723_000],
    ["1-00:00:00", NOW - 86_400_000],
    ["N/A", undefined],
    ["", undefined],
    [undefined, undefined],
  ];
  test.each(cases)("%p", (elapsed, start) => {
    expect(startFromElapsed(elapsed)).toBe(start);
  });
});

test("display ids are unique and say whose they are", () => {
  const a = newDisplayId();
  expect(a).toMatch(/^alpine-kernel-status-[0-9a-f-]{36}$/);
  expect(newDisplayId()).not.toBe(a);
});

describe("formatBytes", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [512, "512 B"],
    [1024, "1.0 KB"],
    [1536, "1.5 KB"],
    [100 * 1024 ** 2, "100 MB"],
    [1.2 * 1024 ** 3, "1.2 GB"],
    [5 * 1024 ** 4, "5.0 TB"],
  ];
  test.each(cases)("%p → %s", (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe("namespaceNote", () => {
  const use = {
    total: 14,
    loaded: 0,
    loadedBytes: 0,
    mappedBytes: 0,
    loadSeconds: 0,
    written: 0,
    writtenBytes: 0,
    saveSeconds: 0,
  };
  const cases: [string, Partial<typeof use>, string | undefined][] = [
    ["nothing moved", {}, undefined],
    [
      "little moved, quickly",
      { loaded: 3, loadedBytes: 5000, loadSeconds: 0.2, written: 1, writtenBytes: 9 },
      undefined,
    ],
    [
      "a large read",
      { loaded: 2, loadedBytes: 1.2 * 1024 ** 3, loadSeconds: 0.8 },
      "namespace: loaded 2 of 14 names (1.2 GB read) in 0.8 s",
    ],
    [
      "large arrays mapped, one name saved",
      {
        loaded: 1,
        loadedBytes: 200,
        mappedBytes: 5 * 1024 ** 3,
        loadSeconds: 0.01,
        written: 1,
        writtenBytes: 100 * 1024 ** 2,
        saveSeconds: 0.3,
      },
      "namespace: loaded 1 of 14 names (200 B read, 5.0 GB mapped) in <0.1 s; saved 1 (100 MB) in 0.3 s",
    ],
    [
      "slow, even if small",
      { loaded: 1, loadedBytes: 1000, loadSeconds: 12.4 },
      "namespace: loaded 1 of 14 names (1000 B read) in 12 s",
    ],
    [
      "only a save",
      { written: 3, writtenBytes: 300 * 1024 ** 2, saveSeconds: 1.5 },
      "namespace: saved 3 (300 MB) in 1.5 s",
    ],
  ];
  test.each(cases)("%s", (_name, over, text) => expect(namespaceNote({ ...use, ...over })).toBe(text));

  test("the final line carries it after the rest", () => {
    const view: StatusView = {
      jobId: "28",
      phase: { kind: "done", ok: true, seconds: 5, namespace: "namespace: saved 3 (300 MB) in 1.5 s" },
    };
    expect(statusText(view)).toBe("✔ job 28 completed in 5 s · namespace: saved 3 (300 MB) in 1.5 s");
  });
});

describe("service units and the Python note", () => {
  const billing = { rate: 109, limitSeconds: 600 };
  test.each<[string, StatusView, string]>([
    [
      "queued: the most the job can cost, its time limit at its billing rate",
      { jobId: "9", partition: "aa100", billing, phase: { kind: "queued", since: ago(3) } },
      "… queued as job 9 on aa100 — waiting for the scheduler, waiting 3 s · est. ≤ 18.2 SU (109/h)",
    ],
    [
      "running",
      { jobId: "9", billing, phase: { kind: "running", node: "c3gpu-a1-u1-1", gpus: 1, since: ago(65) } },
      "▶ job 9 running on c3gpu-a1-u1-1 (1 GPU) for 1:05 · est. ≤ 18.2 SU (109/h)",
    ],
    [
      "completed: what it used",
      { jobId: "9", billing, phase: { kind: "done", ok: true, seconds: 6, maxRss: "412M" } },
      "✔ job 9 completed in 6 s · MaxRSS 412M · 0.18 SU",
    ],
    [
      "failed: what it used too",
      {
        jobId: "9",
        billing: { rate: 1 },
        phase: { kind: "done", ok: false, seconds: 3600, detail: "ended with SlurmTimeout" },
      },
      "✖ job 9 ended with SlurmTimeout after 1:00:00 · 1 SU",
    ],
    [
      "no time limit known: the rate alone",
      { jobId: "9", billing: { rate: 4 }, phase: { kind: "queued", since: ago(0) } },
      "… queued as job 9 on the default partition — waiting for the scheduler, waiting 0.0 s · 4 SU/h",
    ],
  ])("%s", (_what, view, text) => expect(statusText(view)).toBe(text));

  test("notes go on lines of their own under the status, in text and HTML", () => {
    const info = { path: "/e/bin/python", version: "3.11.2", prefix: "/e", ipython: true, dill: true };
    const note = pythonNote(info, "conda env alpine-kernel");
    expect(note).toBe("cells run Python 3.11.2 · /e/bin/python (conda env alpine-kernel)");
    const view: StatusView = { jobId: "7", notes: [note], phase: { kind: "queued", since: NOW } };
    const b = statusBundle(view);
    expect(b["text/plain"]).toBe(`${statusText(view)}\n${note}`);
    expect(b["text/html"]).toContain(
      `<div class="alpine-kernel-note" style="font-family:monospace;color:#546e7a">${note}</div>`,
    );
    expect(notesBundle([note])["text/plain"]).toBe(note);
  });
});

describe("array cells and dependencies", () => {
  const failedTask = (index: number, state: "TIMEOUT" | "FAILED") => ({
    index,
    jobId: `4521_${index}`,
    outcome:
      state === "FAILED"
        ? ({ kind: "ended", status: "error" } as const)
        : ({
            kind: "died",
            final: { jobId: `4521_${index}`, state, exitCode: 0, signal: 15 },
            started: true,
            stderrTail: "",
          } as const),
  });
  const parts = (
    done: number,
    running: number,
    pending: number,
    failed: ReturnType<typeof failedTask>[] = [],
  ) => ({
    unit: "task" as const,
    jobId: "4521",
    total: 100,
    pending,
    running,
    done,
    failed,
  });

  test.each<[string, StatusView, string]>([
    [
      "queued, before squeue's first word on its tasks",
      { jobId: "4521", array: true, partition: "acpu", phase: { kind: "queued", since: ago(3) } },
      "… queued as array 4521 on acpu — waiting for the scheduler, waiting 3 s",
    ],
    [
      "queued: every task pending",
      {
        jobId: "4521",
        array: true,
        partition: "acpu",
        parts: parts(0, 0, 100),
        phase: {
          kind: "queued",
          since: ago(12),
          status: { jobId: "4521", state: "PENDING", reason: "Priority" },
        },
      },
      "… array 4521: 0 done · 0 running · 100 pending · 0 failed — on acpu, Priority, waiting 12 s",
    ],
    [
      "running: the live summary, the failed tasks named",
      {
        jobId: "4521",
        array: true,
        parts: parts(37, 10, 51, [failedTask(7, "FAILED"), failedTask(13, "TIMEOUT")]),
        phase: { kind: "running", since: ago(151) },
      },
      "▶ array 4521: 37 done · 10 running · 51 pending · 2 failed (7, 13) — for 2:31",
    ],
    [
      "ended, some failed: each with its end state",
      {
        jobId: "4521",
        array: true,
        parts: parts(98, 0, 0, [failedTask(7, "FAILED"), failedTask(13, "TIMEOUT")]),
        phase: { kind: "done", ok: false, seconds: 192, detail: "ended with ArrayTasksFailed" },
      },
      "✖ array 4521: 98 done · 2 failed (7 FAILED, 13 TIMEOUT) — ended with ArrayTasksFailed after 3:12",
    ],
    [
      "ended, all done",
      {
        jobId: "4521",
        array: true,
        parts: parts(100, 0, 0),
        phase: { kind: "done", ok: true, seconds: 192 },
      },
      "✔ array 4521: all 100 tasks completed in 3:12",
    ],
    [
      "detached, ended",
      {
        jobId: "4521",
        array: true,
        detached: true,
        parts: parts(99, 0, 0, [failedTask(3, "FAILED")]),
        phase: { kind: "detached-done", ok: false, detail: "ended with ArrayTasksFailed" },
      },
      "✖ detached array 4521 ended with ArrayTasksFailed: 99 done · 1 failed (3 FAILED)",
    ],
    [
      "waiting for the cell it runs after",
      {
        jobId: "4530",
        partition: "acpu",
        after: ["cell 12 (job 4519)"],
        phase: {
          kind: "queued",
          since: ago(40),
          status: { jobId: "4530", state: "PENDING", reason: "Dependency" },
        },
      },
      "… queued as job 4530 on acpu — waiting for cell 12 (job 4519), waiting 40 s",
    ],
    [
      "what it waited for failed",
      {
        jobId: "4530",
        partition: "acpu",
        after: ["cell 12 (job 4519)"],
        phase: {
          kind: "queued",
          since: ago(41),
          status: { jobId: "4530", state: "PENDING", reason: "DependencyNeverSatisfied" },
        },
      },
      "… queued as job 4530 on acpu — cell 12 (job 4519) failed: it can never start, waiting 41 s",
    ],
  ])("%s", (_name, view, text) => {
    expect(statusText(view)).toBe(text);
  });

  test("many failed tasks: the first named with their states, then how many more", () => {
    const failed = Array.from({ length: 11 }, (_, i) => failedTask(i * 2, "FAILED"));
    const text = statusText({
      jobId: "4521",
      array: true,
      parts: parts(89, 0, 0, failed),
      phase: { kind: "done", ok: false, seconds: 5, detail: "ended with ArrayTasksFailed" },
    });
    expect(text).toContain(
      "(0 FAILED, 2 FAILED, 4 FAILED, 6 FAILED, 8 FAILED, 10 FAILED, 12 FAILED, 14 FAILED and 3 more)",
    );
  });
});
