/** What the daemon said so far, one event at a time. */
import type { AllocationEvent } from "../../../../src/jobs/allocation/allocation-protocol";
import { DaemonState } from "../../../../src/jobs/allocation/daemon-state";

const worker = (generation: number): AllocationEvent => ({
  type: "worker",
  time: 1,
  generation,
  pid: 10 + generation,
  ipython: true,
  dill: true,
  restored: 0,
  problems: {},
  names: {},
  seconds: 1,
});

test("a cell's states, its Python's death and restart, saves, a release", () => {
  const d = new DaemonState();
  expect(
    d.apply({ type: "supervisor", time: 1, host: "c3gpu", pid: 1, job_id: "5", python: "3.11" }),
  ).toEqual({ kind: "host" });
  expect(d.host).toBe("c3gpu");
  expect(d.apply(worker(1))).toMatchObject({ kind: "worker", restarted: false });
  d.cells.set(1, "queued");
  expect(d.apply({ type: "cell", time: 2, seq: 1, generation: 1 })).toEqual({ kind: "cell", seq: 1 });
  expect(d.cells.get(1)).toBe("running");
  const died: AllocationEvent = {
    type: "died",
    time: 3,
    generation: 1,
    seq: 1,
    during: "cell",
    cancelled: false,
    exit_code: 3,
    signal: 0,
    signal_name: "",
    maxrss_kb: 1,
    oom: false,
  };
  expect(d.apply(died)).toEqual({ kind: "died", event: died });
  expect(d.cells.get(1)).toBe("died");
  expect(d.deaths.get(1)).toBe(died);
  expect(d.apply(worker(2))).toMatchObject({ kind: "worker", restarted: true });
  expect(d.generation).toBe(2);
  const skipped: AllocationEvent = {
    type: "saved",
    time: 4,
    id: "a",
    reason: "asked",
    skipped: "nothing changed",
  };
  d.apply(skipped);
  expect(d.lastSave).toBeUndefined();
  const saved: AllocationEvent = { type: "saved", time: 5, id: "b", reason: "asked", saved: 2 };
  d.apply(saved);
  expect(d.lastSave).toBe(saved);
  d.apply({ type: "withdrawn", time: 6, seq: 2 });
  expect(d.cells.get(2)).toBe("withdrawn");
  d.apply({ type: "ending", time: 7, reason: "released" });
  expect(d.apply({ type: "exit", time: 8, reason: "released" })).toEqual({ kind: "exit", released: true });
});

test("an exit that was no release says so", () => {
  const d = new DaemonState();
  d.apply({ type: "ending", time: 1, reason: "the job was told to stop" });
  expect(d.apply({ type: "exit", time: 2, reason: "" })).toEqual({ kind: "exit", released: false });
});
