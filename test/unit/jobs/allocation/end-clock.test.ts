/** When a running allocation ends, from squeue's clocks; the warning before it. */
import { EndClock } from "../../../../src/jobs/allocation/end-clock";
import type { JobStatus } from "../../../../src/jobs/scheduler";

const NOW = 1_800_000_000_000;
beforeEach(() => jest.useFakeTimers({ now: NOW }));
afterEach(() => jest.useRealTimers());

const running = (elapsed: string, timeLimit: string): JobStatus => ({
  jobId: "1",
  state: "RUNNING",
  elapsed,
  timeLimit,
});

test("the end is told once, moved when the limit moves, and warned about ahead of it", () => {
  const ends: number[] = [];
  const warns: number[] = [];
  const clock = new EndClock({
    warnAheadSeconds: 600,
    onEnd: (e) => ends.push(e),
    onWarn: (e) => warns.push(e),
  });
  clock.note(running("0:10", "1:00:00"));
  expect(ends).toEqual([NOW + 3590_000]);
  expect(clock.endsAt).toBe(NOW + 3590_000);
  clock.note(running("0:12", "1:00:00"), NOW + 2000); // the same end, a poll later
  expect(ends).toHaveLength(1);
  jest.advanceTimersByTime(2990_000 - 1);
  expect(warns).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(warns).toEqual([NOW + 3590_000]);
  // An administrator raised the limit: told again, not warned twice.
  clock.note(running("50:00", "2:00:00"), NOW + 3000_000);
  expect(ends).toEqual([NOW + 3590_000, NOW + 3000_000 + 4200_000]);
  jest.advanceTimersByTime(10_000_000);
  expect(warns).toHaveLength(1);
  clock.stop();
});

test("an allocation shorter than the warning's lead is not warned about as it starts", () => {
  const warns: number[] = [];
  const clock = new EndClock({ warnAheadSeconds: 600, onEnd: () => {}, onWarn: (e) => warns.push(e) });
  clock.note(running("0:05", "5:00"));
  jest.advanceTimersByTime(600_000);
  expect(warns).toEqual([]);
});

test("without an elapsed time or a limit there is no end", () => {
  const clock = new EndClock({ warnAheadSeconds: 1, onEnd: () => {}, onWarn: () => {} });
  clock.note({ jobId: "1", state: "RUNNING", timeLimit: "UNLIMITED", elapsed: "0:01" });
  expect(clock.endsAt).toBeUndefined();
});
