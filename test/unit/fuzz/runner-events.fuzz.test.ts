/**
 * Fuzzing the server's reader of the runner's events file (issue 10, "fuzzers in the suite"): the
 * job writes it, so a cell can put anything in it (a cell may write to the file itself, a job may
 * be killed mid-line, a disk may fill). Whatever the bytes and however they arrive — cut at any
 * byte, mid-character or mid-line — reading never throws, every well-formed event comes out once,
 * whole and in order, and every other line is reported as unreadable, never dropped silently.
 */
import fc from "fast-check";
import type { Transport } from "../../../src/cluster/transport";
import { LineTail, TextTail } from "../../../src/jobs/file-tail";
import { parseRunnerEvents, type RunnerEvent } from "../../../src/jobs/runner-events";
import { FUZZ } from "../../helpers/fuzz";

/** A file in memory that grows as the test appends: only what the tails read. */
class GrowingFile {
  data = Buffer.alloc(0);
  readonly transport = {
    readFrom: async (_path: string, offset: number, maxBytes = 4 << 20): Promise<Buffer | null> =>
      this.data.subarray(offset, offset + maxBytes),
  } as unknown as Transport;
}

const text = fc.string({ unit: "binary", maxLength: 30 }); // every code point, lone surrogates aside
const event: fc.Arbitrary<RunnerEvent> = fc.oneof(
  fc.record({
    type: fc.constant("stream" as const),
    name: fc.constantFrom("stdout" as const, "stderr" as const),
    text,
  }),
  fc.record({
    type: fc.constant("display_data" as const),
    data: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 })),
    metadata: fc.constant({}),
    transient: fc.constant({}),
  }),
  fc.record({
    type: fc.constant("error" as const),
    ename: text,
    evalue: text,
    traceback: fc.array(text, { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant("clear_output" as const), wait: fc.boolean() }),
  fc.record({
    type: fc.constant("input_request" as const),
    seq: fc.nat(),
    prompt: text,
    password: fc.boolean(),
  }),
);
/** A line that is not an event: garbage, JSON of the wrong shape, or an event cut short. */
const badLine = fc.oneof(
  fc
    .string({ unit: "binary", minLength: 1, maxLength: 40 })
    .filter((s) => !s.includes("\n") && s.trim() !== ""),
  fc
    .jsonValue()
    .map((v) => JSON.stringify(v))
    .filter((s) => !/^\{"type":/.test(s)),
  fc.constantFrom(
    '{"type":"stream"}',
    '{"type":"nope"}',
    '{"type":"end","status":"maybe"}',
    "[]",
    "null",
    "{",
  ),
);
type Line = { ok: true; event: RunnerEvent } | { ok: false; text: string };
const lines = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: event.map((e): Line => ({ ok: true, event: e })) },
    { weight: 1, arbitrary: badLine.map((t): Line => ({ ok: false, text: t })) },
  ),
  { maxLength: 12 },
);
const render = (l: Line) => (l.ok ? JSON.stringify(l.event) : l.text) + "\n";

describe("the events file reader under fuzzing", () => {
  test("cut anywhere: every event once and whole, in order; every other line reported", async () => {
    await fc.assert(
      fc.asyncProperty(lines, fc.array(fc.nat(), { maxLength: 20 }), async (ls, cuts) => {
        const bytes = Buffer.from(ls.map(render).join(""));
        const file = new GrowingFile();
        const tail = new LineTail(file.transport, "events");
        const events: RunnerEvent[] = [];
        const bad: string[] = [];
        let rest = "";
        let at = 0;
        for (const cut of [...cuts, bytes.length]) {
          const to = Math.min(bytes.length, at + (cut % 40));
          file.data = bytes.subarray(0, cut === bytes.length ? bytes.length : to);
          at = file.data.length;
          const got = parseRunnerEvents(rest + (await tail.read()).data.lines.toString("utf8"));
          events.push(...got.events);
          bad.push(...got.bad);
          rest = got.rest; // LineTail gives whole lines: nothing is left over
          expect(rest).toBe("");
        }
        file.data = bytes;
        const last = parseRunnerEvents((await tail.read()).data.lines.toString("utf8"));
        events.push(...last.events);
        bad.push(...last.bad);
        // As JSON carries them (-0 becomes 0).
        const sent = ls.filter((l) => l.ok).map((l) => JSON.parse(render(l)) as RunnerEvent);
        expect(events).toEqual(sent);
        expect(bad.length).toBe(ls.filter((l) => !l.ok).length);
        expect(tail.offset).toBe(bytes.length);
      }),
      FUZZ,
    );
  });

  test("stdout/stderr bytes cut anywhere come out as the same text, never a broken character", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "binary", maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 30 }),
        async (s, steps) => {
          const bytes = Buffer.from(s);
          const file = new GrowingFile();
          const tail = new TextTail(file.transport, "out");
          let got = "";
          let at = 0;
          for (const step of steps) {
            at = Math.min(bytes.length, at + step);
            file.data = bytes.subarray(0, at);
            const piece = (await tail.read()).data;
            expect(piece).not.toContain("\ufffd"); // no half character decoded as a replacement
            got += piece;
          }
          file.data = bytes;
          got += (await tail.read()).data;
          expect(got).toBe(s);
        },
      ),
      FUZZ,
    );
  });

  test("any bytes at all: reading never throws", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(300), async (raw, cut) => {
        const file = new GrowingFile();
        file.data = Buffer.from(raw).subarray(0, cut);
        const tail = new LineTail(file.transport, "events");
        parseRunnerEvents((await tail.read()).data.lines.toString("utf8"));
        file.data = Buffer.from(raw);
        parseRunnerEvents((await tail.read()).data.lines.toString("utf8"));
      }),
      FUZZ,
    );
  });
});
