/** The daemon's events as the server reads them: checked, defaulted, unknown types skipped, bad lines said. */
import { parseAllocationEvents, parseReply } from "../../../../src/jobs/allocation/allocation-protocol";

const line = (o: Record<string, unknown>) => JSON.stringify({ time: 1, ...o });

test("every event type the supervisor writes is read", () => {
  const text = [
    line({ type: "supervisor", host: "c3gpu", pid: 5, job_id: "12", python: "3.11.2" }),
    line({
      type: "worker",
      generation: 1,
      pid: 6,
      ipython: true,
      dill: true,
      restored: 2,
      problems: {},
      names: { x: "int" },
      seconds: 0.8,
    }),
    line({ type: "cell", seq: 3, generation: 1 }),
    line({ type: "done", seq: 3, ok: true }),
    line({ type: "withdrawn", seq: 4 }),
    line({ type: "interrupted", seq: 5 }),
    line({
      type: "died",
      generation: 1,
      seq: 5,
      during: "cell",
      cancelled: false,
      exit_code: null,
      signal: 11,
      signal_name: "SIGSEGV",
      maxrss_kb: 1000,
      oom: false,
    }),
    line({
      type: "saved",
      id: "s1",
      reason: "asked",
      saved: 3,
      skipped: { f: "TextIOWrapper: ..." },
      bytes: 10,
      seconds: 0.1,
    }),
    line({ type: "reset" }),
    line({ type: "ending", reason: "released" }),
    line({ type: "exit", reason: "released" }),
  ].join("\n");
  const { events, bad } = parseAllocationEvents(text + "\n");
  expect(bad).toEqual([]);
  expect(events.map((e) => e.type)).toEqual([
    "supervisor",
    "worker",
    "cell",
    "done",
    "withdrawn",
    "interrupted",
    "died",
    "saved",
    "reset",
    "ending",
    "exit",
  ]);
  expect(events[6]).toMatchObject({ seq: 5, signal: 11, signal_name: "SIGSEGV", oom: false });
});

test("missing optional fields get their defaults; a newer daemon's unknown event is skipped", () => {
  const { events, bad } = parseAllocationEvents(
    [
      line({ type: "worker", generation: 2, pid: 9 }),
      line({ type: "died", generation: 2, seq: null, during: "idle" }),
      line({ type: "heartbeat" }),
    ].join("\n"),
  );
  expect(bad).toEqual([]);
  expect(events).toEqual([
    {
      type: "worker",
      time: 1,
      generation: 2,
      pid: 9,
      restored: 0,
      problems: {},
      names: {},
      seconds: 0,
      ipython: false,
      dill: false,
    },
    {
      type: "died",
      time: 1,
      generation: 2,
      seq: null,
      during: "idle",
      exit_code: null,
      signal: 0,
      signal_name: "",
      maxrss_kb: 0,
      oom: false,
      cancelled: false,
    },
  ]);
});

test("lines that are not events are reported, not thrown", () => {
  const { events, bad } = parseAllocationEvents(
    [
      "not json",
      line({ type: "cell" }),
      JSON.stringify({ type: "cell", seq: 1 }),
      line({ type: "died", generation: 1, seq: 2, during: "later" }),
    ].join("\n"),
  );
  expect(events).toEqual([]);
  expect(bad).toHaveLength(4);
  expect(bad[1]).toMatch(/cell needs seq/);
  expect(bad[2]).toMatch(/needs a type and a time/);
  expect(bad[3]).toMatch(/died needs during/);
});

test("a reply file is a JSON object or nothing", () => {
  expect(parseReply('{"matches": []}')).toEqual({ matches: [] });
  expect(parseReply("[1]")).toBeUndefined();
  expect(parseReply("{half")).toBeUndefined();
});
