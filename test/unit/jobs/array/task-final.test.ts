/**
 * An array task's end state from the array's accounting records (real sacct output parsed by
 * parseSacct): its own record, or the pending range it was cancelled in (or the array's own
 * record standing for it); asked again while
 * accounting lags; UNKNOWN when it never tells.
 */
import { sharedAccounting, taskFinal } from "../../../../src/jobs/array/task-final";
import { parseSacct } from "../../../../src/jobs/slurm/parse-sacct";
import type { FinalJobStatus } from "../../../../src/jobs/scheduler";

// sacct -j 2227 on the test cluster: tasks 0-1 interrupted (exit 3), 2-5 cancelled while pending.
const SACCT = [
  "2227_0|arr.sh|FAILED|3:0|00:00:03||1000M|00:02:00|c3cpu-a1-u1-1|billing=1,cpu=1,mem=1000M,node=1",
  "2227_0.batch|batch|FAILED|3:0|00:00:03|12296K|||c3cpu-a1-u1-1|cpu=1,mem=1000M,node=1",
  "2227_1|arr.sh|FAILED|3:0|00:00:03||1000M|00:02:00|c3cpu-a1-u1-1|billing=1,cpu=1,mem=1000M,node=1",
  "2227_[2-5%2]|arr.sh|CANCELLED by 1001|0:0|00:00:00||1000M|00:02:00|None assigned|",
].join("\n");

const noSleep = async () => {};

test("a task with a record of its own", async () => {
  const asked: string[][] = [];
  const f = await taskFinal(async (ids) => (asked.push([...ids]), parseSacct(SACCT)), "2227", 1, noSleep);
  expect(f).toMatchObject({ jobId: "2227_1", state: "FAILED", exitCode: 3 });
  expect(asked).toEqual([["2227"]]);
});

test("a task cancelled while pending: found in the array's pending range", async () => {
  const f = await taskFinal(async () => parseSacct(SACCT), "2227", 4, noSleep);
  expect(f).toMatchObject({ jobId: "2227_4", state: "CANCELLED" });
  expect(f.node).toBeUndefined();
});

test("a task cancelled while pending, its range listed under the array's own id", async () => {
  // sacct -j 5108 on the test cluster: tasks 0-1 interrupted, the pending 2-9 cancelled.
  const bare = [
    "5108_0|arr.sh|FAILED|1:0|00:00:30||1000M|00:02:00|c3cpu-a1-u1-1|billing=1,cpu=1,mem=1000M,node=1",
    "5108_1|arr.sh|FAILED|1:0|00:00:30||1000M|00:02:00|c3cpu-a1-u1-1|billing=1,cpu=1,mem=1000M,node=1",
    "5108|arr.sh|CANCELLED by 1001|0:0|00:00:00||1000M|00:02:00|None assigned|",
  ].join("\n");
  const f = await taskFinal(async () => parseSacct(bare), "5108", 9, noSleep);
  expect(f).toMatchObject({ jobId: "5108_9", state: "CANCELLED" });
  const own = await taskFinal(async () => parseSacct(bare), "5108", 1, noSleep);
  expect(own).toMatchObject({ jobId: "5108_1", state: "FAILED" });
});

test("accounting still says RUNNING: asked again until it has the end", async () => {
  let n = 0;
  const running = SACCT.replace("2227_1|arr.sh|FAILED", "2227_1|arr.sh|RUNNING");
  const f = await taskFinal(async () => parseSacct(n++ < 2 ? running : SACCT), "2227", 1, noSleep);
  expect(f.state).toBe("FAILED");
  expect(n).toBe(3);
});

test("accounting never knows the task: UNKNOWN after the retries", async () => {
  let n = 0;
  const f = await taskFinal(async () => (n++, new Map<string, FinalJobStatus>()), "2227", 9, noSleep);
  expect(f).toEqual({ jobId: "2227_9", state: "UNKNOWN", exitCode: 0, signal: 0, unknown: true });
  expect(n).toBe(7);
});

describe("sharedAccounting: tasks leaving the queue together share one sacct", () => {
  test("asks within the window share one answer; after it, a fresh one", async () => {
    let clock = 0;
    let calls = 0;
    const shared = sharedAccounting(
      async () => (calls++, parseSacct(SACCT)),
      2000,
      () => clock,
    );
    const finals = await Promise.all([0, 1, 2, 3, 4, 5].map((t) => taskFinal(shared, "2227", t, noSleep)));
    expect(finals.map((f) => f.state)).toEqual(["FAILED", "FAILED", ...Array(4).fill("CANCELLED")]);
    expect(calls).toBe(1);
    clock = 2000;
    await taskFinal(shared, "2227", 1, noSleep);
    expect(calls).toBe(2);
  });

  test("a failed answer is not kept: the next ask tries again", async () => {
    let calls = 0;
    const shared = sharedAccounting(
      async () => {
        if (calls++ === 0) throw new Error("sacct: error: Problem talking to the database");
        return parseSacct(SACCT);
      },
      2000,
      () => 0,
    );
    await expect(shared(["2227"])).rejects.toThrow(/Problem talking/);
    expect((await shared(["2227"])).get("2227_1")?.state).toBe("FAILED");
    expect(calls).toBe(2);
  });
});
