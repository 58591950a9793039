/**
 * Gigabytes in the namespace: a trivial cell neither reads nor writes an untouched 1 GB array
 * (counted by the kernel in /proc/self/io and reported in the `namespace` event), and a cell
 * reading one row of a 4 GB array reads that row, not the array (memory-mapped on load).
 * These write 5 GB to the temporary directory, removed at the end.
 */
import { readdirSync, statSync } from "node:fs";
import { CellDir, IPYTHON, only, streamText } from "./runner-harness";

jest.setTimeout(300_000);

const cells = new CellDir();
afterAll(() => cells.cleanup());

const GB = 1024 ** 3;
const MB = 1024 ** 2;

/** The store's files with their size, inode and modification time. */
function snapshot(ns: string): string[] {
  return readdirSync(cells.path(ns))
    .filter((f) => f !== "index.json")
    .sort()
    .map((f) => {
      const s = statSync(cells.path(`${ns}/${f}`));
      return `${f} ${s.size} ${s.ino} ${s.mtimeMs}`;
    });
}

describe("an untouched 1 GB array", () => {
  const ns = "one-gb";
  beforeAll(async () => {
    const r = await cells.run(
      IPYTHON,
      "import numpy as np\nbig = np.full(GB // 8, 1.5)\nsmall = 1".replace("GB", String(GB)),
      {
        namespace: ns,
      },
    );
    expect(only(r.events, "namespace").bytes).toBeGreaterThan(GB);
  });

  test("is neither read nor written by a trivial cell", async () => {
    const before = snapshot(ns);
    const r = await cells.run(IPYTHON, "z = small + 1", { namespace: ns });
    expect(r.exitCode).toBe(0);
    const ev = only(r.events, "namespace");
    expect(ev).toMatchObject({ loaded: 1, mapped_bytes: 0, written: 1 });
    expect(ev.written_bytes).toBeLessThan(1024);
    // rchar counts every byte read through a system call (Python's own modules included): nowhere
    // near the array's gigabyte. wchar: the events file and the small records only.
    expect(ev.io!.rchar).toBeLessThan(100 * MB);
    expect(ev.io!.wchar).toBeLessThan(1 * MB);
    expect(only(r.events, "end").maxrss_kb!).toBeLessThan(300 * 1024);
    const after = snapshot(ns);
    for (const line of before.filter((l) => l.startsWith("b-"))) expect(after).toContain(line);
  });

  test("a cell that reads a slice maps the array and writes nothing back", async () => {
    const r = await cells.run(IPYTHON, "print(big[1000:1003].sum())", { namespace: ns });
    expect(streamText(r.events, "stdout")).toBe("4.5\n");
    const ev = only(r.events, "namespace");
    expect(ev).toMatchObject({ loaded: 1, written: 0, mapped_bytes: GB });
    expect(ev.io!.rchar).toBeLessThan(100 * MB);
    expect(ev.io!.wchar).toBeLessThan(1 * MB);
    expect(only(r.events, "end").maxrss_kb!).toBeLessThan(300 * 1024);
  });
});

test("one row of a 4 GB array: that row is read, not the array", async () => {
  const ns = "four-gb";
  const define = "import numpy as np\nbig = np.zeros((2**19, 1024))  # 4 GiB of float64\nbig[123_456] = 7.0";
  const r1 = await cells.run(IPYTHON, define, { namespace: ns });
  expect(r1.exitCode).toBe(0);
  expect(only(r1.events, "namespace").bytes).toBeGreaterThan(4 * GB);
  const r2 = await cells.run(IPYTHON, "row = big[123_456].copy()\nprint(row[:2], row.sum(), big.shape)", {
    namespace: ns,
  });
  expect(streamText(r2.events, "stderr")).toBe("");
  expect(streamText(r2.events, "stdout")).toBe("[7. 7.] 7168.0 (524288, 1024)\n");
  const ev = only(r2.events, "namespace");
  expect(ev).toMatchObject({ loaded: 1, mapped_bytes: 4 * GB, written: 1 });
  expect(ev.written_bytes).toBeLessThan(64 * 1024);
  expect(ev.io!.rchar).toBeLessThan(100 * MB);
  // Peak memory: Python, IPython and numpy, plus a few pages of the array.
  expect(only(r2.events, "end").maxrss_kb!).toBeLessThan(300 * 1024);
});
