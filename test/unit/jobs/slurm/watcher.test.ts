/**
 * The shared squeue watcher with a scripted transport (rows in the real squeue-kernel-format.txt
 * format) and fake timers: one squeue per tick for every watched job, backoff while nothing
 * changes, a job that leaves the queue reported gone once, failures reported and recovered from.
 */
import { CommandError } from "../../../../src/cluster/transport";
import { SQUEUE_ARGS } from "../../../../src/jobs/slurm/parse-squeue";
import type { JobStatus } from "../../../../src/jobs/scheduler";
import { SlurmWatcher } from "../../../../src/jobs/slurm/watcher";
import {
  ScriptedTransport,
  deferred,
  ok,
  refused,
  squeueOutput,
  squeueRow,
  type Reply,
} from "./scripted-transport";

const MIN = 800;
const MAX = 6000;

let watcher: SlurmWatcher | undefined;
let trouble: (string | undefined)[];

function start(respond: (argv: readonly string[], index: number) => Reply): ScriptedTransport {
  const transport = new ScriptedTransport(respond);
  trouble = [];
  watcher = new SlurmWatcher(transport, {
    minIntervalMs: MIN,
    maxIntervalMs: MAX,
    onTrouble: (m) => trouble.push(m),
  });
  return transport;
}

/** A listener that records what it hears. */
function listener() {
  const statuses: JobStatus[] = [];
  let gone = 0;
  return {
    statuses,
    get gone() {
      return gone;
    },
    onStatus: (s: JobStatus) => statuses.push(s),
    onGone: () => gone++,
  };
}

function watch(id: string, l = listener()): typeof l & { unwatch: () => void } {
  const unwatch = watcher!.watch(id, l.onStatus, l.onGone);
  return Object.assign(l, { unwatch });
}

/** Milliseconds between successive squeue calls (the first from t=0). */
function gaps(t: ScriptedTransport): number[] {
  const at = t.callsOf("squeue").map((c) => c.at);
  return at.map((x, i) => x - (i ? at[i - 1]! : 0));
}

const jobsArg = (argv: readonly string[]): string | undefined => argv[argv.indexOf("--jobs") + 1];

beforeEach(() => jest.useFakeTimers({ now: 0 }));
afterEach(() => {
  watcher?.close();
  watcher = undefined;
  jest.useRealTimers();
});

test("one squeue per tick asks for every watched job, each listener hears its own job", async () => {
  const t = start(() =>
    squeueOutput(squeueRow("24", "RUNNING", "None", "24"), squeueRow("28", "PENDING", "Priority")),
  );
  const a = watch("24");
  const b = watch("28");
  const c = watch("28");
  await jest.advanceTimersByTimeAsync(MIN);
  expect(t.calls.map((x) => x.argv)).toEqual([["squeue", ...SQUEUE_ARGS, "--jobs", "24,28"]]);
  expect(a.statuses.map((s) => [s.jobId, s.state])).toEqual([["24", "RUNNING"]]);
  expect(b.statuses.map((s) => [s.jobId, s.state, s.reason])).toEqual([["28", "PENDING", "Priority"]]);
  expect(c.statuses).toEqual(b.statuses);
  expect(watcher!.status("28")?.reason).toBe("Priority");
  // A later listener of a known job hears the last status at once, without another squeue.
  const d = watch("24");
  expect(d.statuses.map((s) => s.state)).toEqual(["RUNNING"]);
});

describe("backoff", () => {
  const pending = (reason: string) => squeueOutput(squeueRow("28", "PENDING", reason));
  const cases: [string, (index: number) => Reply, number[]][] = [
    [
      "nothing changes: 1.5× per tick from min up to max",
      () => pending("Priority"),
      [800, 800, 1200, 1800, 2700, 4050, 6000, 6000],
    ],
    [
      "the reason flips between passes: not a change, the backoff goes on",
      (i) => pending(i % 2 ? "Resources" : "Priority"),
      [800, 800, 1200, 1800, 2700, 4050, 6000, 6000],
    ],
    [
      "the state changes (PENDING → RUNNING): back to min",
      (i) => (i < 5 ? pending("Priority") : squeueOutput(squeueRow("28", "RUNNING", "None", "24"))),
      [800, 800, 1200, 1800, 2700, 4050, 800, 1200],
    ],
  ];
  test.each(cases)("%s", async (_name, reply, expected) => {
    const t = start((_argv, i) => reply(i));
    watch("28");
    const total = expected.reduce((a, b) => a + b, 0);
    await jest.advanceTimersByTimeAsync(total);
    expect(gaps(t)).toEqual(expected);
  });

  test("a new watch hurries: the next squeue comes within min and asks for both jobs", async () => {
    const t = start((argv) =>
      squeueOutput(
        ...jobsArg(argv)!
          .split(",")
          .map((id) => squeueRow(id, "PENDING", "Priority")),
      ),
    );
    watch("28");
    await jest.advanceTimersByTimeAsync(800 + 800 + 1200 + 1800 + 2700); // next one due in 4050
    expect(t.calls).toHaveLength(5);
    watch("31");
    await jest.advanceTimersByTimeAsync(MIN);
    expect(t.calls).toHaveLength(6);
    expect(jobsArg(t.calls[5]!.argv)).toBe("28,31");
    // The new job's first status is a change: the interval starts again from min.
    await jest.advanceTimersByTimeAsync(MIN);
    expect(t.calls).toHaveLength(7);
  });

  test("hurry() after the backoff grew brings the next squeue within min", async () => {
    const t = start(() => pending("Priority"));
    watch("28");
    await jest.advanceTimersByTimeAsync(800 + 800 + 1200 + 1800 + 2700);
    watcher!.hurry();
    await jest.advanceTimersByTimeAsync(MIN);
    expect(t.calls).toHaveLength(6);
    // ... and the backoff starts again from min.
    await jest.advanceTimersByTimeAsync(MIN * 1.5);
    expect(gaps(t).slice(5)).toEqual([MIN, MIN * 1.5]);
  });
});

describe("jobs leaving the queue", () => {
  test("a job missing from squeue's answer is reported gone once, then no longer asked for", async () => {
    const t = start((_argv, i) =>
      squeueOutput(
        squeueRow("28", "PENDING", "Priority"),
        ...(i === 0 ? [squeueRow("24", "RUNNING", "None", "24")] : []),
      ),
    );
    const running = watch("24");
    const queued = watch("28");
    await jest.advanceTimersByTimeAsync(MIN);
    expect([running.gone, watcher!.status("24")?.state]).toEqual([0, "RUNNING"]);
    await jest.advanceTimersByTimeAsync(MIN);
    expect(running.gone).toBe(1);
    expect(watcher!.status("24")).toBeUndefined();
    await jest.advanceTimersByTimeAsync(10 * MAX);
    expect(running.gone).toBe(1);
    expect(queued.gone).toBe(0);
    expect(t.calls.slice(2).map((c) => jobsArg(c.argv))).toEqual(t.calls.slice(2).map(() => "28"));
    // A job leaving is a change: the squeue after it comes after min, not after a longer wait.
    expect(gaps(t).slice(0, 3)).toEqual([800, 800, 800]);
  });

  test("'Invalid job id specified' (every id purged): all jobs are gone, and squeue stops", async () => {
    const t = start(() => refused("slurm_load_jobs error: Invalid job id specified\n"));
    const a = watch("24");
    const b = watch("28");
    await jest.advanceTimersByTimeAsync(MIN);
    expect([a.gone, b.gone]).toEqual([1, 1]);
    expect(trouble).toEqual([]);
    await jest.advanceTimersByTimeAsync(10 * MAX);
    expect(t.calls).toHaveLength(1);
  });

  test("a job unwatched while squeue runs gets no status and leaves no stale one", async () => {
    const answer = deferred<Reply>();
    const t = start((_argv, i) =>
      i === 0 ? (answer.promise as Promise<never>) : squeueOutput(squeueRow("28", "PENDING", "Priority")),
    );
    const ended = watch("24");
    const other = watch("28");
    await jest.advanceTimersByTimeAsync(MIN);
    ended.unwatch(); // its end marker appeared while squeue was running
    answer.resolve(
      squeueOutput(squeueRow("24", "RUNNING", "None", "24"), squeueRow("28", "PENDING", "Priority")),
    );
    await jest.advanceTimersByTimeAsync(0);
    expect(ended.statuses).toEqual([]);
    expect(ended.gone).toBe(0);
    expect(watcher!.status("24")).toBeUndefined();
    expect(other.statuses).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(MIN);
    expect(jobsArg(t.calls[1]!.argv)).toBe("28");
  });

  test("a job unwatched while squeue runs and missing from its answer is not reported gone", async () => {
    const answer = deferred<Reply>();
    start(() => answer.promise as Promise<never>);
    const ended = watch("24");
    await jest.advanceTimersByTimeAsync(MIN);
    ended.unwatch();
    answer.resolve(squeueOutput());
    await jest.advanceTimersByTimeAsync(0);
    expect(ended.gone).toBe(0);
  });

  test("an old unwatch (after the job was reported gone) does not drop a newer watch of the same id", async () => {
    const t = start((_argv, i) =>
      i === 0 ? squeueOutput() : squeueOutput(squeueRow("24", "RUNNING", "None", "24")),
    );
    const first = watch("24");
    await jest.advanceTimersByTimeAsync(MIN);
    expect(first.gone).toBe(1);
    const second = watch("24"); // followed again (e.g. requeued, or resumed)
    first.unwatch(); // the first follower cleans up late (after asking sacct)
    await jest.advanceTimersByTimeAsync(MIN);
    expect(t.calls).toHaveLength(2);
    expect(second.statuses.map((s) => s.state)).toEqual(["RUNNING"]);
  });
});

describe("failures", () => {
  const cases: [string, Reply][] = [
    [
      "slurmctld not answering (exit 1)",
      new CommandError(["squeue"], 1, "", "slurm_load_jobs error: Socket timed out on send/recv operation"),
    ],
    ["squeue timed out", new CommandError(["squeue"], 137, "", "", "timed out after 60000 ms")],
    ["the connection dropped", new Error("connection lost")],
    ["output that is not squeue's format", ok("garbage without fields\n")],
  ];
  test.each(cases)(
    "%s: onTrouble says so, the watch stays, and the next answer clears it",
    async (_n, failure) => {
      const t = start((_argv, i) =>
        i === 0 ? failure : squeueOutput(squeueRow("28", "PENDING", "Priority")),
      );
      const l = watch("28");
      await jest.advanceTimersByTimeAsync(MIN);
      expect(trouble).toHaveLength(1);
      expect(trouble[0]).toMatch(/^scheduler not answering \(.+\), retrying$/);
      expect(trouble[0]).not.toContain("\n");
      expect([l.gone, l.statuses.length]).toEqual([0, 0]);
      await jest.advanceTimersByTimeAsync(MIN * 1.5); // a failed squeue is no change: backoff goes on
      expect(t.calls).toHaveLength(2);
      expect(trouble).toEqual([trouble[0], undefined]);
      expect(l.statuses.map((s) => s.state)).toEqual(["PENDING"]);
    },
  );

  test("the trouble is reported once per outage, not once per failed squeue", async () => {
    const t = start((_argv, i) =>
      i < 3 ? new Error("connection lost") : squeueOutput(squeueRow("28", "PENDING")),
    );
    watch("28");
    await jest.advanceTimersByTimeAsync(800 + 1200 + 1800 + 2700);
    expect(t.calls).toHaveLength(4);
    expect(trouble.filter((m) => m === undefined)).toHaveLength(1);
    expect(trouble[trouble.length - 1]).toBeUndefined();
  });
});

test("close() stops the polling", async () => {
  const t = start(() => squeueOutput(squeueRow("28", "PENDING", "Priority")));
  watch("28");
  await jest.advanceTimersByTimeAsync(MIN);
  watcher!.close();
  await jest.advanceTimersByTimeAsync(10 * MAX);
  expect(t.calls).toHaveLength(1);
});

describe("job arrays", () => {
  test("an array's rows come in the same one squeue as the other jobs; a thousand pending tasks are one row", async () => {
    const t = start(() =>
      squeueOutput(
        squeueRow("24", "RUNNING", "None", "24"),
        squeueRow("4521_[2-999%10]", "PENDING", "JobArrayTaskLimit"),
        squeueRow("4521_0", "RUNNING", "None", "24"),
        squeueRow("4521_1", "RUNNING", "None", "24"),
      ),
    );
    const plain = watch("24");
    const rows: string[][] = [];
    watcher!.watchArray(
      "4521",
      (r) => rows.push(r.map((s) => `${s.jobId} ${s.state}`)),
      () => rows.push(["gone"]),
    );
    await jest.advanceTimersByTimeAsync(MIN);
    expect(t.calls.map((x) => x.argv)).toEqual([["squeue", ...SQUEUE_ARGS, "--jobs", "24,4521"]]);
    expect(rows).toEqual([["4521_[2-999%10] PENDING", "4521_0 RUNNING", "4521_1 RUNNING"]]);
    expect(plain.statuses.map((s) => s.jobId)).toEqual(["24"]);
  });

  test("an array with no row left is gone once; its watch ends there", async () => {
    let left = true;
    const t = start(() =>
      left ? squeueOutput(squeueRow("4521_3", "RUNNING", "None", "24")) : squeueOutput(),
    );
    const heard: string[] = [];
    watcher!.watchArray(
      "4521",
      (r) => heard.push(r.map((s) => s.jobId).join()),
      () => heard.push("gone"),
    );
    await jest.advanceTimersByTimeAsync(MIN);
    left = false;
    await jest.advanceTimersByTimeAsync(MIN);
    await jest.advanceTimersByTimeAsync(10 * MAX);
    expect(heard).toEqual(["4521_3", "gone"]);
    expect(t.calls).toHaveLength(2); // nothing watched after that: no more squeue
  });

  test("rows changing reset the backoff; the same rows let it grow", async () => {
    let tick = 0;
    const t = start(() => {
      tick++;
      return squeueOutput(squeueRow(tick < 4 ? "4521_[0-9]" : "4521_[1-9]", "PENDING", "Priority"));
    });
    watcher!.watchArray(
      "4521",
      () => {},
      () => {},
    );
    await jest.advanceTimersByTimeAsync(800 + 800 + 1200 + 1800 + 800);
    expect(gaps(t)).toEqual([800, 800, 1200, 1800, 800]);
  });
});
