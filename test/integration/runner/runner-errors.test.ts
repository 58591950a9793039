/**
 * Failing cells: error events with the cell's own line numbers, SyntaxError, SIGINT while the
 * cell sleeps, os._exit (no end marker), exit statuses.
 */
import { CellDir, IPYTHON, only, plainPython, shape, streamText, tracebackText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

// "Cell In[4], line 5" in IPython (8.5 writes "In [4]"), File "<cell In[4]>", line 5 without it.
const cellLine = (ipython: boolean, count: number, line: number): RegExp =>
  ipython
    ? new RegExp(`Cell In ?\\[${count}\\], line ${line}\\b`)
    : new RegExp(`File "<cell In\\[${count}\\]>", line ${line}, in`);

describe.each([
  ["IPython", IPYTHON, true],
  ["plain (stdlib only)", plainPython(), false],
] as const)("errors with %s", (_label, python, ipython) => {
  test("an exception: output before it, error with ename/evalue/traceback lines, end error, exit 1", async () => {
    const code = [
      "x = 1",
      "def inner(d):",
      "    return d['missing']",
      "print('before')",
      "inner({})",
      "print('never')",
    ].join("\n");
    const r = await cells.run(python, code, { executionCount: 4 });
    expect(r.exitCode).toBe(1);
    expect(shape(r.events)).toEqual(["start", "error", "end"]);
    expect(streamText(r.events, "stdout")).toBe("before\n");
    const err = only(r.events, "error");
    expect(err.ename).toBe("KeyError");
    expect(err.evalue).toBe("'missing'");
    const tb = tracebackText(err);
    expect(tb).toMatch(cellLine(ipython, 4, 5));
    expect(tb).toMatch(cellLine(ipython, 4, 3));
    expect(tb).toContain("return d['missing']");
    // The runner's own frames are not shown.
    expect(tb).not.toMatch(/alpine_kernel_runner|plain_shell|ipython_shell/);
    expect(only(r.events, "end").status).toBe("error");
  });

  test("a function from an earlier cell fails: the traceback shows that cell's line and source", async () => {
    const ns = `tb-${ipython}`;
    await cells.run(python, "def bad(v):\n    x = v + 1\n    return 1 / (x - x)\n", {
      executionCount: 1,
      namespace: ns,
    });
    const r = await cells.run(python, "print('c2')\nbad(3)\n", { executionCount: 2, namespace: ns });
    expect(r.exitCode).toBe(1);
    const tb = tracebackText(only(r.events, "error"));
    expect(tb).toMatch(cellLine(ipython, 2, 2));
    expect(tb).toMatch(cellLine(ipython, 1, 3));
    expect(tb).toContain("return 1 / (x - x)");
  });

  test("a SyntaxError points at the cell's line", async () => {
    const r = await cells.run(python, "a = 1\nb = 2\nprint(a b)\n", { executionCount: 9 });
    expect(r.exitCode).toBe(1);
    const err = only(r.events, "error");
    expect(err.ename).toBe("SyntaxError");
    expect(tracebackText(err)).toMatch(ipython ? /Cell In ?\[9\], line 3/ : /File "<cell In\[9\]>", line 3/);
  });

  test("SIGINT while the cell sleeps: KeyboardInterrupt at the cell's line, end error, exit 1", async () => {
    const code = "import time\nprint('sleeping', flush=True)\ntime.sleep(30)\nprint('not reached')\n";
    const running = cells.start(python, code, { executionCount: 2, namespace: `int-${ipython}` });
    await running.waitFor((e) => e.type === "stream" && e.text === "sleeping");
    const sentAt = Date.now();
    running.child.kill("SIGINT");
    const r = await running.finished;
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(r.exitCode).toBe(1);
    const err = only(r.events, "error");
    expect(err.ename).toBe("KeyboardInterrupt");
    const tb = tracebackText(err);
    expect(tb).toMatch(cellLine(ipython, 2, 3));
    expect(tb).not.toMatch(/alpine_kernel_runner/);
    // The namespace is still saved after an interrupted cell, then the end marker.
    expect(shape(r.events)).toEqual(["start", "error", "namespace", "end"]);
    expect(streamText(r.events, "stdout")).toBe("sleeping\n");
  });

  test("SIGINT while the namespace is saved is ignored: the save completes, the cell is ok", async () => {
    const code = [
      "import time",
      "class Slow:",
      "    def __reduce__(self):",
      "        print('saving', flush=True)",
      "        time.sleep(1)",
      "        return (Slow, ())",
      "s = Slow()",
    ].join("\n");
    const running = cells.start(python, code, { namespace: `save-int-${ipython}` });
    await running.waitFor((e) => e.type === "stream" && e.text === "saving");
    running.child.kill("SIGINT");
    const r = await running.finished;
    expect(r.exitCode).toBe(0);
    expect(shape(r.events)).toEqual(["start", "namespace", "end"]);
    expect(only(r.events, "namespace").names).toMatchObject({ s: "Slow", Slow: "type" });
    expect(only(r.events, "end").status).toBe("ok");
  });

  test("os._exit ends the process at once: no end marker, the exit status is the cell's", async () => {
    const r = await cells.run(python, "import os\nprint('bye')\nos._exit(3)\n", {
      namespace: `exit-${ipython}`,
    });
    expect(r.exitCode).toBe(3);
    expect(shape(r.events)).toEqual(["start"]);
    expect(streamText(r.events, "stdout")).toBe("bye\n");
  });

  test("a thread the cell leaves running delays the exit by the grace period only", async () => {
    const code =
      "import threading, time\nthreading.Thread(target=time.sleep, args=(600,)).start()\nprint('left')";
    const running = cells.start(python, code, { env: { ALPINE_KERNEL_EXIT_GRACE_SECONDS: "1" } });
    await running.waitFor((e) => e.type === "end");
    const endSeen = Date.now();
    const r = await running.finished;
    expect(r.exitCode).toBe(0);
    expect(Date.now() - endSeen).toBeGreaterThan(500);
    expect(Date.now() - endSeen).toBeLessThan(5000);
  });
});
