/**
 * The namespace store's rules, through the real runner: a cell loads what its text names, saves
 * what it changed (in-place changes too), `del` removes, a failing cell keeps what it did, old
 * files are collected, a failed save keeps the previous namespace, a detached cell only reads.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { CellDir, IPYTHON, only, plainPython, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

/** The store's files, without its index. */
const storeFiles = (ns: string) =>
  readdirSync(cells.path(ns))
    .filter((f) => f !== "index.json")
    .sort();
const indexOf = (ns: string) =>
  JSON.parse(readFileSync(cells.path(`${ns}/index.json`), "utf8")) as {
    names: Record<string, { record?: string }>;
    records: Record<string, { file: string; buffers: [string, number, number][] }>;
    files: Record<string, number>;
  };
const filesOf = (ns: string, name: string) => {
  const index = indexOf(ns);
  const record = index.records[index.names[name]!.record!]!;
  return [record.file, ...record.buffers.map((b) => b[0])];
};

describe("what a cell loads", () => {
  const ns = "lazy";
  beforeAll(async () => {
    const define = [
      "import numpy as np",
      "import colorsys as cs",
      "a = np.arange(1_000_000)",
      "b = np.ones(1_000_000)",
      "limit = 3",
      "def total(): return int(a[:limit].sum())",
      "secret = 'found'",
    ].join("\n");
    expect((await cells.run(IPYTHON, define, { namespace: ns })).exitCode).toBe(0);
  });

  test("a trivial cell loads nothing (modules included) and writes only its own name", async () => {
    const r = await cells.run(IPYTHON, "import sys\nz = 'colorsys' in sys.modules", { namespace: ns });
    const ev = only(r.events, "namespace");
    // z is written; sys is a module, carried by name.
    expect(ev).toMatchObject({ loaded: 0, loaded_bytes: 0, mapped_bytes: 0, written: 1, total: 7 });
    const check = await cells.run(IPYTHON, "print(z)", { namespace: ns });
    expect(streamText(check.events, "stdout")).toBe("False\n");
  });

  test("a function from an earlier cell brings the globals it reads; modules are imported when named", async () => {
    const r = await cells.run(IPYTHON, "print(total(), cs.rgb_to_hsv(1, 0, 0))", { namespace: ns });
    expect(streamText(r.events, "stdout")).toBe("3 (0.0, 1.0, 1)\n");
    const ev = only(r.events, "namespace");
    // total, a, limit, cs — not b, not secret.
    expect(ev.loaded).toBe(4);
    expect(ev.mapped_bytes).toBe(8_000_000);
    expect(ev.written).toBe(0);
  });

  test("a name the cell only assigns is not loaded first", async () => {
    const r = await cells.run(IPYTHON, "b = 'replaced'", { namespace: ns });
    expect(only(r.events, "namespace")).toMatchObject({ loaded: 0, written: 1 });
  });

  test("eval and exec find names through the fallback; globals() sees every name", async () => {
    const r = await cells.run(IPYTHON, "print(eval('sec' + 'ret'))\nexec(\"print(lim\" + \"it)\")", {
      namespace: ns,
    });
    expect(streamText(r.events, "stdout")).toBe("found\n3\n");
    expect(only(r.events, "namespace").loaded).toBe(2);
    const ipython = "('In', 'Out', 'exit', 'quit', 'get_ipython')";
    const all = await cells.run(
      IPYTHON,
      `print(sorted(k for k in globals() if not k.startswith('_') and k not in ${ipython}))`,
      { namespace: ns },
    );
    expect(streamText(all.events, "stdout")).toBe(
      "['a', 'b', 'cs', 'limit', 'np', 'secret', 'sys', 'total', 'z']\n",
    );
    const ev = only(all.events, "namespace");
    expect(ev.loaded).toBe(ev.total);
  });

  test("code that reaches __main__ from a module file: the failure says how to load the name", async () => {
    writeFileSync(cells.path("peek.py"), "import __main__\ndef peek():\n    return __main__.secret\n");
    const r = await cells.run(IPYTHON, "import peek\npeek.peek()", { namespace: ns });
    expect(r.exitCode).toBe(1);
    expect(streamText(r.events, "stderr")).toContain(
      "alpine-kernel: secret is in the namespace, but this cell did not load it",
    );
    const again = await cells.run(IPYTHON, "import peek\nprint(peek.peek())  # secret", { namespace: ns });
    expect(streamText(again.events, "stdout")).toBe("found\n");
  });
});

describe.each([
  ["dill", IPYTHON],
  ["the stdlib pickler", plainPython()],
] as const)("saving with %s", (label, python) => {
  const ns = `save-${label === "dill" ? "dill" : "pickle"}`;

  test("in-place changes are saved; what did not change keeps its files", async () => {
    const define = "data = [1, 2]\nconfig = {'depth': 1}\nkeep = 'same'\nbuf = bytearray(2_000_000)";
    expect((await cells.run(python, define, { namespace: ns })).exitCode).toBe(0);
    const keepFiles = filesOf(ns, "keep");
    const r = await cells.run(python, "data.append(3)\nconfig['depth'] += 1\nbuf[5] = 7\nprint(keep)", {
      namespace: ns,
    });
    expect(only(r.events, "namespace")).toMatchObject({ loaded: 4, written: 3 });
    expect(filesOf(ns, "keep")).toEqual(keepFiles);
    const check = await cells.run(python, "print(data, config, buf[5], keep)", { namespace: ns });
    expect(streamText(check.events, "stdout")).toBe("[1, 2, 3] {'depth': 2} 7 same\n");
  });

  test("del removes a name (loaded or not) and its files; a failing cell keeps what it did before failing", async () => {
    const dataFiles = filesOf(ns, "data");
    const r = await cells.run(python, "del data\nnew = 10\nraise ValueError('after new')", { namespace: ns });
    expect(r.exitCode).toBe(1);
    expect(only(r.events, "namespace")).toMatchObject({ deleted: 1 });
    for (const f of dataFiles) expect(existsSync(cells.path(`${ns}/${f}`))).toBe(false);
    const check = await cells.run(python, "print('data' in globals(), new)", { namespace: ns });
    expect(streamText(check.events, "stdout")).toBe("False 10\n");
  });

  test("files no index names (a save killed mid-way, old values) are removed at the next save", async () => {
    writeFileSync(cells.path(`${ns}/r-000099-deadbeef.pkl`), "left by a killed job");
    writeFileSync(cells.path(`${ns}/index.json.tmp-99999`), "{}");
    await cells.run(python, "config = 'replaced'", { namespace: ns });
    expect(storeFiles(ns)).toEqual(Object.keys(indexOf(ns).files).sort());
  });
});

test("a numpy array changed in place through a view is saved; one only read is not rewritten", async () => {
  const ns = "inplace";
  await cells.run(IPYTHON, "import numpy as np\narr = np.zeros(1_000_000)\nother = np.ones(1_000_000)", {
    namespace: ns,
  });
  const [arrRecord, arrBuffer] = filesOf(ns, "arr");
  const otherFiles = filesOf(ns, "other");
  const r = await cells.run(IPYTHON, "v = arr[500_000:500_010]\nv[:] = 5\ndel v\nprint(other[:3].sum())", {
    namespace: ns,
  });
  expect(streamText(r.events, "stdout")).toBe("3.0\n");
  expect(only(r.events, "namespace")).toMatchObject({ written: 1 });
  expect(filesOf(ns, "other")).toEqual(otherFiles);
  expect(filesOf(ns, "arr")).not.toContain(arrRecord);
  expect(filesOf(ns, "arr")).not.toContain(arrBuffer);
  const check = await cells.run(IPYTHON, "print(arr.sum(), arr.flags.writeable)", { namespace: ns });
  expect(streamText(check.events, "stdout")).toBe("50.0 True\n");
});

test("a save that fails (file size limit) keeps the previous namespace whole and says so", async () => {
  const ns = "fsize";
  await cells.run(IPYTHON, "import numpy as np\nx = np.zeros(100)", { namespace: ns });
  const before = readFileSync(cells.path(`${ns}/index.json`));
  const files = storeFiles(ns);
  // 2 MB per file: the events file stays under it, a 4 MB buffer file cannot.
  const limited = ["/usr/bin/prlimit", "--fsize=2000000", ...IPYTHON];
  const r = await cells.run(limited, "x = np.ones(500_000)\ny = 1", { namespace: ns });
  expect(r.exitCode).toBe(0);
  expect(streamText(r.events, "stderr")).toMatch(
    /alpine-kernel: not carried to the next cell: x \(namespace not saved: OSError: \[Errno 27\] File too large.*\(the previous cell's namespace is kept\)\), y \(/,
  );
  expect(readFileSync(cells.path(`${ns}/index.json`)).equals(before)).toBe(true);
  expect(storeFiles(ns)).toEqual(files);
  const check = await cells.run(IPYTHON, "print(x.sum(), 'y' in globals())", { namespace: ns });
  expect(streamText(check.events, "stdout")).toBe("0.0 False\n");
});

test("a store whose index cannot be read is moved aside, with its files, and the cell starts afresh", async () => {
  const ns = "damaged";
  await cells.run(plainPython(), "v = 1", { namespace: ns });
  writeFileSync(cells.path(`${ns}/index.json`), "{not json");
  const r = await cells.run(plainPython(), "print('v' in globals())\nw = 2", { namespace: ns });
  expect(streamText(r.events, "stdout")).toBe("False\n");
  expect(streamText(r.events, "stderr")).toMatch(
    /^alpine-kernel: not restored from the previous cell: \* \(.*index\.json is damaged: .*\) \(the previous namespace is kept as .*damaged\.unrestored-1\)\n$/,
  );
  expect(readFileSync(cells.path(`${ns}.unrestored-1/index.json`), "utf8")).toBe("{not json");
  expect(only(r.events, "namespace").names).toEqual({ w: "int" });
});

test("a store removed while its cell runs (kernel restart) is not brought back by that cell", async () => {
  const ns = "reset";
  await cells.run(plainPython(), "old = 1", { namespace: ns });
  const running = cells.start(
    plainPython(),
    "print('go', flush=True)\nimport time\ntime.sleep(1)\nlate = 2",
    {
      namespace: ns,
    },
  );
  await running.waitFor((e) => e.type === "stream" && e.text === "go");
  rmSync(cells.path(ns), { recursive: true });
  const r = await running.finished;
  expect(r.exitCode).toBe(0);
  expect(streamText(r.events, "stderr")).toMatch(/late \((namespace not saved|the namespace was reset)/);
  expect(existsSync(cells.path(`${ns}/index.json`))).toBe(false);
});

test("a detached cell reads its snapshot and writes nothing", async () => {
  const ns = "snap";
  await cells.run(IPYTHON, "import numpy as np\nq = np.arange(1_000_000)", { namespace: ns });
  const stamp = (f: string) => statSync(cells.path(`${ns}/${f}`)).mtimeMs;
  const before = storeFiles(ns).map(stamp);
  const r = await cells.run(IPYTHON, "q[0] = 99\nprint(q[:2])\nnew = 1", {
    extraArgs: ["--namespace-in", cells.path(ns)],
  });
  expect(streamText(r.events, "stdout")).toBe("[99  1]\n");
  expect(only(r.events, "namespace")).toMatchObject({ saved: 0, read_only: true, loaded: 1 });
  expect(storeFiles(ns).map(stamp)).toEqual(before);
  const check = await cells.run(IPYTHON, "print(q[:2], 'new' in globals())", { namespace: ns });
  expect(streamText(check.events, "stdout")).toBe("[0 1] False\n");
});

test("--namespace-in and --namespace-out naming different stores is a usage error", async () => {
  const r = await cells.run(plainPython(), "1", {
    extraArgs: ["--namespace-in", cells.path("one"), "--namespace-out", cells.path("two")],
  });
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toContain("--namespace-in and --namespace-out must name the same store directory");
});
