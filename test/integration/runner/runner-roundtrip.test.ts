/**
 * Values carried through the namespace store, with dill (IPython's interpreter) and with the
 * stdlib pickler: one cell defines everything, then each row is checked by a cell of its own —
 * which loads only what it names (and what that shares objects with) — and finally by one cell
 * checking every row again, after the rows' cells saved the namespace anew.
 */
import { CellDir, IPYTHON, only, plainPython, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

interface Row {
  what: string;
  define: string;
  check: string;
  expect: string;
  numpy?: boolean;
}

const ROWS: Row[] = [
  {
    what: "numbers, text, bytes, None, booleans",
    define: "i, fl, c, s, b = 7, 2.5, 1 + 2j, 'héllo', b'\\x00\\xff'\nnone, yes = None, True",
    check: "print(i, fl, c, s, b, none, yes)",
    expect: "7 2.5 (1+2j) héllo b'\\x00\\xff' None True\n",
  },
  {
    what: "nested containers",
    define:
      "nested = {'a': [1, (2, 3), {4}], 'b': {'c': frozenset([6])}, 'd': bytearray(b'xy'), 'e': range(3)}",
    check: "print(nested)",
    expect: "{'a': [1, (2, 3), {4}], 'b': {'c': frozenset({6})}, 'd': bytearray(b'xy'), 'e': range(0, 3)}\n",
  },
  {
    what: "references shared across names stay shared (a name not in the cell's text comes along)",
    define:
      "shared = [1]\nalias = shared\nholder = {'k': shared}\nclass Box:\n    def __init__(self, v): self.v = v\nbox = Box(shared)",
    check: "alias.append(2)\nprint(holder['k'] is alias, box.v is alias, holder['k'])",
    expect: "True True [1, 2]\n",
  },
  {
    what: "cycles within and across names",
    define: "cyc = []\ncyc.append(cyc)\nd1 = {}\nd2 = {'d1': d1}\nd1['d2'] = d2",
    check: "print(cyc[0] is cyc, d1['d2'] is d2, d2['d1'] is d1)",
    expect: "True True True\n",
  },
  {
    what: "functions: closures, defaults, recursion, lambdas; the globals they read come along",
    define:
      "def make(k):\n    def add(v): return v + k + offset\n    return add\noffset = 100\nadd5 = make(5)\n" +
      "sq = lambda v, p=2: v ** p\ndef fact(n): return 1 if n <= 1 else n * fact(n - 1)",
    check: "print(add5(1), sq(3), fact(5))",
    expect: "106 9 120\n",
  },
  {
    what: "classes: inheritance, super(), class attributes, instances",
    define:
      "class Base:\n    kind = 'base'\n    def hello(self): return 'hi ' + self.kind\n" +
      "class Child(Base):\n    kind = 'child'\n    def hello(self): return super().hello() + '!'\nchild = Child()",
    check: "print(child.hello(), isinstance(child, Base), type(child).__name__)",
    expect: "hi child! True Child\n",
  },
  {
    what: "numpy: dtypes, shapes, orders, structured and object arrays, a large array, a strided view",
    numpy: true,
    define:
      "import numpy as np\nsmall = np.arange(6, dtype=np.int16).reshape(2, 3)\n" +
      "fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))\nlarge = np.arange(300_000, dtype=np.float64)\n" +
      "rec = np.array([(1, 'a')], dtype=[('x', 'i4'), ('y', 'U1')])\nobjs = np.array([{'k': 1}, None], dtype=object)\n" +
      "strided = large[::2]",
    check:
      "print(small.dtype, small.tolist(), fortran.flags.f_contiguous, fortran.tolist(), float(large.sum()), " +
      "large.flags.writeable, rec['y'][0], objs[0], strided.shape, float(strided[-1]))",
    expect:
      "int16 [[0, 1, 2], [3, 4, 5]] True [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] 44999850000.0 True a {'k': 1} (150000,) 299998.0\n",
  },
  {
    what: "pandas: numbers, text, categories, a date index; a Series",
    numpy: true,
    define:
      "import pandas as pd\ndf = pd.DataFrame({'n': np.arange(200_000), 't': ['x'] * 200_000, " +
      "'c': pd.Categorical(['a', 'b'] * 100_000)}, index=pd.date_range('2024-01-01', periods=200_000, freq='s'))\n" +
      "ser = pd.Series([1.5, 2.5], name='s')",
    check:
      "print(df.shape, df['n'].sum(), df['c'].cat.categories.tolist(), str(df.index[1]), ser.sum(), ser.name)",
    expect: "(200000, 3) 19999900000 ['a', 'b'] 2024-01-01 00:00:01 4.0 s\n",
  },
];

describe.each([
  ["dill (IPython)", IPYTHON, true],
  ["the stdlib pickler", plainPython(), false],
] as const)("round trips with %s", (label, python, withNumpy) => {
  const rows = ROWS.filter((r) => withNumpy || !r.numpy);
  const ns = `roundtrip-${withNumpy ? "dill" : "pickle"}`;

  beforeAll(async () => {
    const r = await cells.run(python, rows.map((row) => row.define).join("\n"), { namespace: ns });
    if (r.exitCode !== 0) throw new Error(`defining the rows failed (${label}): ${JSON.stringify(r.events)}`);
    expect(only(r.events, "namespace").skipped).toEqual({});
  });

  test.each(rows.map((r) => [r.what, r] as const))("%s", async (_what, row) => {
    const r = await cells.run(python, row.check, { namespace: ns });
    expect(streamText(r.events, "stderr")).toBe("");
    expect(streamText(r.events, "stdout")).toBe(row.expect);
    const ev = only(r.events, "namespace");
    // Only what the row needs was loaded.
    expect(ev.loaded).toBeGreaterThan(0);
    expect(ev.loaded).toBeLessThan(ev.total!);
  });

  test("every row again, in one cell, after the rows' cells saved the namespace", async () => {
    const r = await cells.run(python, rows.map((row) => row.check).join("\n"), { namespace: ns });
    expect(streamText(r.events, "stderr")).toBe("");
    const expected = rows.map((row) => row.expect).join("");
    // The shared list was appended to by its row's cell, and again now.
    expect(streamText(r.events, "stdout")).toBe(expected.replace("[1, 2]\n", "[1, 2, 2]\n"));
  });
});
