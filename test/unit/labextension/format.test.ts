/** What a row of the jobs panel and of the queue page says (labextension/src/format.ts). */
import {
  cellTitle,
  countsText,
  endingSoon,
  estimatedStartText,
  matchesState,
  notebooksOf,
  runsToShow,
  serviceUnitsText,
  sortJobs,
  stateDetail,
  timeText,
} from "../../../labextension/src/format";
import type { JobView } from "../../../src/protocol/jobs-feed";

const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);
function job(over: Partial<JobView>): JobView {
  return {
    id: "k1/1",
    jobId: "28",
    notebook: "a.ipynb",
    notebookKey: "/srv/a.ipynb",
    kernelId: "k1",
    run: 1,
    executionCount: 1,
    seq: 1,
    firstLine: "x = 1",
    detached: false,
    phase: "queued",
    state: "PENDING",
    submittedAt: NOW - 60_000,
    ...over,
  };
}

test("the status bar's words count running (and ending) and queued jobs", () => {
  const jobs = [
    job({ phase: "running" }),
    job({ phase: "ending" }),
    job({ phase: "queued" }),
    job({ phase: "ended" }),
  ];
  expect(countsText(jobs)).toBe("2 running · 1 queued");
});

test("clocks: waiting since it was queued, running since it started, took when ended", () => {
  expect(timeText(job({ queuedAt: NOW - 75_000 }), NOW)).toBe("waiting 1:15");
  expect(timeText(job({ phase: "running", startedAt: NOW - 400 }), NOW)).toBe("running 0.4 s");
  expect(timeText(job({ phase: "ended", end: { outcome: "completed", seconds: 0.4 } }), NOW)).toBe(
    "took 0.4 s",
  );
  expect(timeText(job({ phase: "ended", end: { outcome: "died" } }), NOW)).toBe("ended");
});

test("service units: up to the limit while waiting, so far while running, used once ended", () => {
  expect(serviceUnitsText(job({ billing: 4, timeLimitSeconds: 1800 }), NOW)).toBe("up to 2.00 SU");
  expect(
    serviceUnitsText(
      job({ phase: "running", billing: 4, startedAt: NOW - 900_000, timeLimitSeconds: 1800 }),
      NOW,
    ),
  ).toBe("1.00 SU so far, up to 2.00 SU");
  expect(serviceUnitsText(job({ phase: "ended", serviceUnits: 0.5 }), NOW)).toBe("0.50 SU");
  expect(serviceUnitsText(job({}), NOW)).toBeUndefined();
});

test("the state's detail: plain reason while queued, end words, exit code and MaxRSS once ended", () => {
  expect(stateDetail(job({ reasonText: "jobs with a higher priority go first" }))).toBe(
    "jobs with a higher priority go first",
  );
  expect(
    stateDetail(
      job({
        phase: "ended",
        state: "FAILED",
        end: { outcome: "raised", errorName: "KeyError", exitCode: "1:0", maxRss: "2G" },
      }),
    ),
  ).toBe("FAILED (cell raised KeyError) · exit 1:0 · MaxRSS 2G");
  expect(stateDetail(job({ phase: "running", node: "c3cpu-a1-u1-1" }))).toBe("on c3cpu-a1-u1-1");
});

test("estimated start: a clock today, a date another day, nothing once running", () => {
  const today = new Date(2026, 10, 25, 9, 0);
  expect(estimatedStartText(job({ estimatedStart: "2026-11-25T14:30:00" }), today)).toBe("est. start 14:30");
  expect(estimatedStartText(job({ estimatedStart: "2026-11-26T09:05:00" }), today)).toBe(
    "est. start 11-26 09:05",
  );
  expect(
    estimatedStartText(job({ phase: "running", estimatedStart: "2026-11-25T14:30:00" }), today),
  ).toBeUndefined();
});

test("state filters", () => {
  const failed = job({ phase: "ended", end: { outcome: "died" } });
  const ok = job({ phase: "ended", end: { outcome: "completed" } });
  expect(matchesState(failed, "failed")).toBe(true);
  expect(matchesState(ok, "failed")).toBe(false);
  expect(matchesState(job({}), "active")).toBe(true);
  expect(matchesState(ok, "active")).toBe(false);
  expect(matchesState(job({ phase: "ending" }), "running")).toBe(true);
});

test("notebooks are told apart by the frontend's path (behind a gateway they share the server's key)", () => {
  const a = job({ id: "k1/1", notebookPath: "A.ipynb", run: 1 });
  const b = job({ id: "k2/1", notebookPath: "B.ipynb", run: 2 });
  expect(runsToShow([a, b]).size).toBe(0);
  expect(notebooksOf([a, b]).map(([, name]) => name)).toEqual(["A.ipynb", "B.ipynb"]);
  const restarted = job({ id: "k1/2", notebookPath: "A.ipynb", run: 2 });
  expect([...runsToShow([a, b, restarted])]).toEqual(["A.ipynb"]);
});

test("in flight first, newest first", () => {
  const old = job({ id: "1", submittedAt: 1, phase: "ended" });
  const newer = job({ id: "2", submittedAt: 2, phase: "ended" });
  const live = job({ id: "3", submittedAt: 0 });
  expect(sortJobs([old, newer, live]).map((j) => j.id)).toEqual(["3", "2", "1"]);
});

describe("a held allocation's row", () => {
  const held = (over: Partial<JobView>) =>
    job({
      id: "allocation/k1/1",
      kind: "allocation",
      executionCount: 0,
      run: 1,
      firstLine: "%slurm allocate --partition aa100 --gres gpu:1 --time 2:00:00",
      phase: "running",
      state: "RUNNING",
      node: "c3gpu-a1-u1-1",
      startedAt: NOW - 3_600_000,
      endsAt: NOW + 700_000,
      warnAt: NOW + 100_000,
      ...over,
    });

  test("its title, and its time held and left; the left time turns into a warning at warnAt", () => {
    expect(cellTitle(held({}), true)).toBe("a.ipynb · held allocation");
    expect(timeText(held({}), NOW)).toBe("held 1:00:00 · 11:40 left");
    expect(endingSoon(held({}), NOW)).toBe(false);
    expect(timeText(held({}), NOW + 100_000)).toBe(
      "held 1:01:40 · 10:00 left — ending soon: save your work or %slurm extend",
    );
    expect(endingSoon(held({}), NOW + 100_000)).toBe(true);
    expect(endingSoon(held({ phase: "ended", state: "TIMEOUT" }), NOW + 900_000)).toBe(false);
    expect(timeText(held({ phase: "queued", state: "PENDING", endsAt: undefined }), NOW)).toBe(
      "waiting 1:00",
    );
  });

  test("the status bar counts cells, then the allocations held; runs and ends read as allocations", () => {
    const jobs = [job({ phase: "running" }), held({}), held({ id: "allocation/k2/1", phase: "ended" })];
    expect(countsText(jobs)).toBe("1 running · 0 queued · 1 allocation held");
    expect(runsToShow([job({ run: 2 }), held({})]).size).toBe(0);
    expect(
      stateDetail(
        held({
          phase: "ended",
          state: "TIMEOUT",
          end: { outcome: "died", message: "it reached its time limit" },
        }),
      ),
    ).toBe("TIMEOUT · it reached its time limit");
  });
});
