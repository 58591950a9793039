/**
 * The array's tasks from squeue rows: pending together, running one by one, gone once each; a
 * list squeue cut short keeps the tasks after the cut pending; one task's liveness for its follower.
 */
import { TaskTracker } from "../../../../src/jobs/array/task-tracker";
import type { FinalJobStatus, JobState, JobStatus } from "../../../../src/jobs/scheduler";

const row = (jobId: string, state: JobState = "PENDING", reason = "Priority"): JobStatus => ({
  jobId,
  state,
  reason,
  partition: "acpu",
});

function tracker(tasks: number[]) {
  const gone: number[][] = [];
  const t = new TaskTracker("4521", tasks, (g) => gone.push(g));
  return { t, gone };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test("a whole array pending, then tasks running and leaving the queue, each reported gone once", () => {
  const { t, gone } = tracker(range(0, 9));
  t.update([row("4521_[0-9%3]")]);
  expect(t.counts).toEqual({ pending: 10, running: 0 });
  expect(gone).toEqual([]);
  t.update([
    row("4521_[3-9%3]"),
    row("4521_0", "RUNNING"),
    row("4521_1", "RUNNING"),
    row("4521_2", "RUNNING"),
  ]);
  expect(t.counts).toEqual({ pending: 7, running: 3 });
  expect(t.status(1)).toMatchObject({ jobId: "4521_1", state: "RUNNING" });
  expect(t.status(5)).toMatchObject({ jobId: "4521_5", state: "PENDING", reason: "Priority" });
  // 0 and 2 ended; 3 and 4 started.
  t.update([
    row("4521_[5-9%3]"),
    row("4521_1", "RUNNING"),
    row("4521_3", "RUNNING"),
    row("4521_4", "RUNNING"),
  ]);
  expect(gone).toEqual([[0, 2]]);
  expect(t.status(0)).toBeUndefined();
  t.update([
    row("4521_[5-9%3]"),
    row("4521_1", "RUNNING"),
    row("4521_3", "RUNNING"),
    row("4521_4", "RUNNING"),
  ]);
  expect(gone).toEqual([[0, 2]]);
  t.allGone();
  expect(gone).toEqual([
    [0, 2],
    [1, 3, 4, 5, 6, 7, 8, 9],
  ]);
  expect(t.counts).toEqual({ pending: 0, running: 0 });
});

test("a task that ran and ended between two squeues is gone all the same", () => {
  const { t, gone } = tracker([0, 1, 2]);
  t.update([row("4521_[0-2]")]);
  t.update([row("4521_[1-2]")]);
  expect(gone).toEqual([[0]]);
});

test("a cut pending list: the tasks after the cut stay pending, never gone", () => {
  const tasks = [2, 9, 22, 26, 29, 31, 64, 96, 102, 104, 120];
  const { t, gone } = tracker(tasks);
  t.update([row("4521_[2,9,22,26,29,31,64,96,102")]);
  expect(gone).toEqual([]);
  expect(t.counts.pending).toBe(tasks.length);
  // 2 and 9 ended, the list (still cut) moves on.
  t.update([row("4521_[22,26,29,31,64,96,102,104")]);
  expect(gone).toEqual([[2, 9]]);
});

test("a row naming the array alone keeps every task in the queue", () => {
  const { t, gone } = tracker([0, 1]);
  t.update([row("4521")]);
  expect(gone).toEqual([]);
  expect(t.counts).toEqual({ pending: 2, running: 0 });
});

test("rows of other arrays and tasks outside the cell's are left alone", () => {
  const { t, gone } = tracker([7, 13]);
  t.update([row("4521_[0-19]"), row("999_7", "RUNNING")]);
  expect(t.counts).toEqual({ pending: 2, running: 0 });
  expect(gone).toEqual([]);
});

test("one task's liveness: its statuses while it is in the queue, gone once, accounting from the caller", async () => {
  const { t } = tracker([0, 1]);
  const statuses: JobStatus[] = [];
  let goneCalls = 0;
  const final: FinalJobStatus = { jobId: "4521_0", state: "TIMEOUT", exitCode: 0, signal: 15 };
  const live = t.liveness(0, async () => final);
  const stop = live.watch(
    "4521_0",
    (s) => statuses.push(s),
    () => goneCalls++,
  );
  t.update([row("4521_[0-1]")]);
  t.update([row("4521_0", "RUNNING"), row("4521_1")]);
  t.update([row("4521_1")]);
  t.update([row("4521_1", "RUNNING")]);
  expect(statuses.map((s) => `${s.jobId} ${s.state}`)).toEqual(["4521_0 PENDING", "4521_0 RUNNING"]);
  expect(goneCalls).toBe(1);
  await expect(live.final("4521_0")).resolves.toBe(final);
  stop();
  // Watching a task already gone: told at once.
  let late = 0;
  live.watch(
    "4521_0",
    () => {},
    () => late++,
  );
  await Promise.resolve();
  expect(late).toBe(1);
});
