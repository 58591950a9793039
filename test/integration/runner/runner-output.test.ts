/**
 * The cell runner's output events with real interpreters: streams, execute_result, usage errors,
 * and how fast a line printed by a running cell reaches the events file.
 */
import { CellDir, IPYTHON, only, ofType, plainPython, shape, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

describe.each([
  ["IPython", IPYTHON, true],
  ["plain (stdlib only)", plainPython(), false],
])("output with %s", (_label, python, ipython) => {
  test("start, streams in order, execute_result, end; exit 0", async () => {
    const code = [
      "import sys",
      "print('one')",
      "sys.stderr.write('two\\n')",
      "print('three', 3)",
      "sys.stdout.buffer.write('caf\\u00e9\\n'.encode())",
      "6 * 7",
    ].join("\n");
    const r = await cells.run(python, code, { executionCount: 7 });
    expect(r.exitCode).toBe(0);
    expect(shape(r.events)).toEqual(["start", "execute_result", "end"]);
    const start = only(r.events, "start");
    expect(start.ipython).toBe(ipython);
    expect(start.dill).toBe(ipython);
    expect(start.python).toMatch(/^3\.\d+\.\d+$/);
    // Interleaving of stdout and stderr is kept: one event per write, in order.
    const streams = ofType(r.events, "stream").map((e) => `${e.name}:${e.text}`);
    expect(streams.join("")).toBe(
      "stdout:onestdout:\nstderr:two\nstdout:threestdout: stdout:3stdout:\nstdout:café\n",
    );
    const result = only(r.events, "execute_result");
    expect(result.execution_count).toBe(7);
    expect(result.data["text/plain"]).toBe("42");
    expect(only(r.events, "end").status).toBe("ok");
  });

  test("a trailing semicolon and --silent suppress the execute_result", async () => {
    const semi = await cells.run(python, "x = 5\nx;  # quiet");
    expect(shape(semi.events)).toEqual(["start", "end"]);
    const silent = await cells.run(python, "print('shown')\n1 + 1", { silent: true });
    expect(shape(silent.events)).toEqual(["start", "end"]);
    expect(streamText(silent.events, "stdout")).toBe("shown\n");
  });

  test("usage errors exit 2 without events", async () => {
    const r = await cells.run(python, "1", { extraArgs: ["--bogus"] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown argument '--bogus'");
    expect(r.events).toEqual([]);
  });
});

test("a pandas DataFrame result carries text/plain and text/html (IPython)", async () => {
  const r = await cells.run(IPYTHON, "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})");
  expect(r.exitCode).toBe(0);
  const data = only(r.events, "execute_result").data;
  expect(data["text/plain"]).toMatch(/a\s+b\n0\s+1\s+x\n1\s+2\s+y/);
  expect(data["text/html"]).toContain("<table");
  expect(data["text/html"]).toContain("<td>x</td>");
});

test("each line of a slow cell is in the events file within milliseconds", async () => {
  // The cell prints its own clock with each line; the test notes when the line appears.
  const code = "import time\nfor i in range(4):\n    print(f'{i} {time.time()!r}')\n    time.sleep(0.5)\n";
  const running = cells.start(plainPython(), code);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const e = await running.waitFor((ev) => ev.type === "stream" && ev.text.startsWith(`${i} `), 5000);
    if (e.type !== "stream") throw new Error("not a stream event");
    delays.push(Date.now() / 1000 - Number(e.text.split(" ")[1]));
  }
  await running.finished;
  // Polled every 5 ms: each line must show up well before the next one is printed.
  for (const d of delays) expect(d).toBeLessThan(0.1);
});

test("an events file written concurrently by threads holds only whole events", async () => {
  const code = [
    "import sys, threading",
    "def spam(k):",
    "    for i in range(300):",
    "        sys.stdout.write('%d %d %s\\n' % (k, i, 'x' * 5000))",
    "ts = [threading.Thread(target=spam, args=(k,)) for k in range(4)]",
    "[t.start() for t in ts]; [t.join() for t in ts];",
  ].join("\n");
  const r = await cells.run(plainPython(), code);
  expect(r.exitCode).toBe(0);
  // readEvents throws on any line that is not a whole event; each write is one whole event.
  const texts = ofType(r.events, "stream").map((e) => e.text);
  expect(texts).toHaveLength(1200);
  for (const t of texts) expect(t).toMatch(/^\d \d+ x{5000}\n$/);
});
