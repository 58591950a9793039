/**
 * Namespace carry-over between cell jobs: three cells in three processes, with dill (IPython's
 * interpreter) and with the stdlib pickler (no IPython, no dill).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { CellDir, IPYTHON, only, plainPython, shape, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

const CELL1 = [
  "import json as j",
  "import os.path as osp",
  "from os import path",
  "x = 1",
  "def f():",
  "    return x",
  "class Point:",
  "    def __init__(self, a):",
  "        self.a = a",
  "    def norm(self):",
  "        return self.a * scale",
  "scale = 10",
  "p = Point(3)",
  "shared = [1, 2]",
  "alias = shared",
  "fh = open('notes.txt', 'w')",
  "gen = (i for i in range(3))",
  "1",
].join("\n");

const CELL2 = "x = 2\nscale = 100\nprint('fh' in dir(), 'gen' in dir(), 'In' in dir() and Out == {})";

const CELL3 =
  "print(f(), p.norm(), isinstance(p, Point), alias is shared, j.dumps([x]), path.join('a', 'b'), osp is path)";

describe.each([
  ["IPython and dill", IPYTHON, "dill"],
  ["the stdlib pickler", plainPython(), "pickle"],
] as const)("namespace with %s", (_label, python, pickler) => {
  test("three cells: a cell-1 function reads the global as cell 2 left it; modules by alias; an open file is skipped", async () => {
    const ns = `ns-${pickler}`;
    const r1 = await cells.run(python, CELL1, { namespace: ns });
    expect(r1.exitCode).toBe(0);
    expect(shape(r1.events)).toEqual(["start", "execute_result", "namespace", "end"]);
    const saved = only(r1.events, "namespace");
    expect(Object.keys(saved.skipped).sort()).toEqual(["fh", "gen"]);
    expect(saved.skipped.fh).toMatch(/^TextIOWrapper: cannot pickle/);
    expect(saved.skipped.gen).toMatch(/^generator: .*pickle/);
    expect(saved.saved).toBe(10);
    expect(saved.bytes).toBeGreaterThan(0);
    expect(saved.names).toMatchObject({
      j: "module",
      path: "module",
      x: "int",
      f: "function",
      Point: "type",
      p: "Point",
    });
    expect(saved.names).not.toHaveProperty("fh");
    expect(streamText(r1.events, "stderr")).toMatch(
      /^alpine-kernel: not carried to the next cell: fh \(TextIOWrapper: cannot pickle [^)]*\), gen \(generator: [^)]*\)\n$/,
    );

    const r2 = await cells.run(python, CELL2, { namespace: ns });
    expect(r2.exitCode).toBe(0);
    expect(streamText(r2.events, "stdout")).toBe(
      pickler === "dill" ? "False False True\n" : "False False False\n",
    );
    expect(streamText(r2.events, "stderr")).toBe("");

    const r3 = await cells.run(python, CELL3, { namespace: ns });
    expect(r3.exitCode).toBe(0);
    expect(streamText(r3.events, "stderr")).toBe("");
    expect(streamText(r3.events, "stdout")).toBe("2 300 True True [2] a/b True\n");
  });

  test("a name that fails to load does not take the others down (a module of the working directory gone)", async () => {
    const ns = `gone-${pickler}`;
    const mod = `gone_${pickler}`;
    writeFileSync(cells.path(`${mod}.py`), "class Thing:\n    pass\n");
    const r1 = await cells.run(python, `import ${mod}\na = [1]\nthing = ${mod}.Thing()\nb = a`, {
      namespace: ns,
    });
    expect(r1.exitCode).toBe(0);
    rmSync(cells.path(`${mod}.py`));
    const r2 = await cells.run(python, "print(a, b is a, 'thing' in dir())", { namespace: ns });
    expect(r2.exitCode).toBe(0);
    expect(streamText(r2.events, "stdout")).toBe("[1] True False\n");
    const warning = streamText(r2.events, "stderr");
    expect(warning).toContain(`${mod} (import ${mod}: ModuleNotFoundError: No module named '${mod}')`);
    expect(warning).toContain(`thing (ModuleNotFoundError: No module named '${mod}')`);
  });

  test("closures, recursion, lambdas, subclasses with super(), dataclasses, namedtuples, cached_property", async () => {
    const ns = `ns-more-${pickler}`;
    const define = [
      "import collections, dataclasses, functools",
      "def fact(n): return 1 if n <= 1 else n * fact(n - 1)",
      "def make_adder(k):",
      "    def add(v): return v + k + offset",
      "    return add",
      "offset = 0",
      "add5 = make_adder(5)",
      "twice = lambda v: 2 * v",
      "class Base:",
      "    def hello(self): return 'base'",
      "class Child(Base):",
      "    def hello(self): return 'child+' + super().hello()",
      "    @functools.cached_property",
      "    def slow(self): return 41 + 1",
      "    @staticmethod",
      "    def s(): return 's'",
      "@dataclasses.dataclass",
      "class Row:",
      "    a: int",
      "    b: str = 'z'",
      "Pair = collections.namedtuple('Pair', 'left right')",
      "c, row, pair = Child(), Row(1), Pair(1, 2)",
    ].join("\n");
    const r1 = await cells.run(python, define, { namespace: ns });
    expect(r1.exitCode).toBe(0);
    expect(only(r1.events, "namespace").skipped).toEqual({});
    const use = [
      "offset = 100",
      "print(fact(5), add5(1), twice(4), c.hello(), c.slow, Child.s(), isinstance(c, Base))",
      "print(row, dataclasses.asdict(row), [fl.name for fl in dataclasses.fields(Row)], pair._replace(left=9))",
    ].join("\n");
    const r2 = await cells.run(python, use, { namespace: ns });
    expect(streamText(r2.events, "stderr")).toBe("");
    expect(r2.exitCode).toBe(0);
    expect(streamText(r2.events, "stdout")).toBe(
      "120 106 8 child+base 42 s True\nRow(a=1, b='z') {'a': 1, 'b': 'z'} ['a', 'b'] Pair(left=9, right=2)\n",
    );
  });
});

test("modules re-imported by alias in the IPython interpreter (numpy as np)", async () => {
  const r1 = await cells.run(IPYTHON, "import numpy as np\na = np.arange(4)", { namespace: "np" });
  expect(only(r1.events, "namespace").names).toMatchObject({ np: "module", a: "ndarray" });
  // What the introspection helper is told: the module's own name, the value's importable type.
  expect(only(r1.events, "namespace").modules).toEqual({ np: "numpy" });
  expect(only(r1.events, "namespace").types).toEqual({ a: "numpy:ndarray" });
  const r2 = await cells.run(IPYTHON, "print(np.__name__, int(np.sum(a)))", { namespace: "np" });
  expect(streamText(r2.events, "stdout")).toBe("numpy 6\n");
});

test("saving a large numpy array with dill does not copy it in memory", async () => {
  // The cell's atexit handler runs after the namespace is saved: it records the peak RSS.
  const code = [
    "import atexit, resource, numpy as np",
    "big = np.ones(25_000_000)  # 200 MB",
    "atexit.register(lambda: open('peak-kb.txt', 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))",
  ].join("\n");
  const r1 = await cells.run(IPYTHON, code, { namespace: "big" });
  expect(r1.exitCode).toBe(0);
  expect(only(r1.events, "namespace").bytes).toBeGreaterThan(200e6);
  const peakMb = Number(readFileSync(cells.path("peak-kb.txt"), "utf8")) / 1024;
  // Python + IPython + numpy take well under 150 MB; a copy of the array would add 200 MB.
  expect(peakMb).toBeLessThan(200 + 150);
  const r2 = await cells.run(IPYTHON, "print(big.shape, big.sum(), big.flags.writeable)", {
    namespace: "big",
  });
  expect(streamText(r2.events, "stdout")).toBe("(25000000,) 25000000.0 True\n");
});

test("names that cannot be loaded are reported, and stay in the namespace for a cell that can load them", async () => {
  const r1 = await cells.run(IPYTHON, "kept = [1, 2, 3]\nother = 'x'", { namespace: "cross" });
  expect(r1.exitCode).toBe(0);
  // The next cell runs where dill is not importable: it cannot read what dill wrote.
  const r2 = await cells.run(plainPython(), "print(other if 'other' in dir() else 'no other')\nkept", {
    namespace: "cross",
  });
  expect(r2.exitCode).toBe(1);
  expect(streamText(r2.events, "stdout")).toBe("no other\n");
  const stderr = streamText(r2.events, "stderr");
  expect(stderr).toContain("alpine-kernel: not restored from the previous cell: ");
  expect(stderr).toContain("kept (saved with dill, which is not importable in this environment)");
  expect(stderr).toContain("(kept in the namespace for a cell that can load them)");
  expect(only(r2.events, "namespace").names).toMatchObject({ kept: "list", other: "str" });
  // Back where dill is: nothing was lost.
  const r3 = await cells.run(IPYTHON, "print(kept, other)", { namespace: "cross" });
  expect(streamText(r3.events, "stdout")).toBe("[1, 2, 3] x\n");
});

test("a cell killed before it ends leaves the store as it was", async () => {
  const r1 = await cells.run(plainPython(), "v = 'before'", { namespace: "killed" });
  expect(r1.exitCode).toBe(0);
  const index = cells.path("killed/index.json");
  const before = readFileSync(index);
  const files = readdirSync(cells.path("killed")).sort();
  const running = cells.start(
    plainPython(),
    "v = 'after'\nprint('set', flush=True)\nimport time\ntime.sleep(30)",
    {
      namespace: "killed",
    },
  );
  await running.waitFor((e) => e.type === "stream" && e.text === "set");
  running.child.kill("SIGKILL");
  await running.finished;
  expect(readFileSync(index).equals(before)).toBe(true);
  expect(readdirSync(cells.path("killed")).sort()).toEqual(files);
  const r3 = await cells.run(plainPython(), "print(v)", { namespace: "killed" });
  expect(streamText(r3.events, "stdout")).toBe("before\n");
});
