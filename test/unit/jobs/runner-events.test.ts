/** The runner's `namespace` event as the server validates it (docs/cell-runner.md). */
import { parseRunnerEvents } from "../../../src/jobs/runner-events";

const line = (e: Record<string, unknown>) =>
  `${JSON.stringify({ type: "namespace", saved: 2, skipped: {}, ...e })}\n`;

test("what was loaded, written and read from disk comes through; older runners' shorter events too", () => {
  const full = {
    names: { df: "DataFrame" },
    bytes: 100,
    seconds: 0.2,
    written: 1,
    written_bytes: 40,
    deleted: 0,
    total: 3,
    loaded: 1,
    loaded_bytes: 60,
    mapped_bytes: 4096,
    load_seconds: 0.01,
    io: { rchar: 9, wchar: 8, read_bytes: 0, write_bytes: 4096 },
  };
  const { events, bad } = parseRunnerEvents(
    line(full) + line({ bytes: 5, seconds: 0.1 }) + line({ saved: 0, read_only: true }),
  );
  expect(bad).toEqual([]);
  expect(events).toEqual([
    { type: "namespace", saved: 2, skipped: {}, ...full },
    { type: "namespace", saved: 2, skipped: {}, bytes: 5, seconds: 0.1 },
    { type: "namespace", saved: 0, skipped: {}, read_only: true },
  ]);
});

test.each([
  [{ loaded: "2" }, /namespace loaded must be a number/],
  [{ mapped_bytes: -1 }, /namespace mapped_bytes must be a number/],
  [{ io: { rchar: "x" } }, /namespace io must map counters to numbers/],
  [{ names: { df: 3 } }, /namespace names must map names to type names/],
])("%p is refused", (fields, message) => {
  const { events, bad } = parseRunnerEvents(line(fields));
  expect(events).toEqual([]);
  expect(bad[0]).toMatch(message);
});
