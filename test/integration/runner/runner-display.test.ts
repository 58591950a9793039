/**
 * Rich output from the cell runner: display() with display ids and updates, _repr_*_ methods,
 * clear_output, and matplotlib figures as PNG (plt.show() and figures left open at the end).
 */
import { CellDir, IPYTHON, ofType, only, plainPython, shape, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

const PNG_BASE64 = /^iVBORw0KGgo/; // "\x89PNG\r\n\x1a\n"

const RICH = [
  "class Rich:",
  "    def _repr_html_(self): return '<b>rich</b>'",
  "    def _repr_markdown_(self): return '**rich**'",
  "    def _repr_latex_(self): return r'$\\alpha$'",
  "    def _repr_json_(self): return {'k': [1, 2]}",
  "    def _repr_svg_(self): return '<svg></svg>'",
  "    def _repr_png_(self): return b'\\x89PNG\\r\\n\\x1a\\n'",
  "    def __repr__(self): return 'Rich()'",
  "class Bundle:",
  "    def _repr_mimebundle_(self, include=None, exclude=None):",
  "        return {'text/plain': 'B', 'application/vnd.custom+json': {'a': 1}}, {'application/vnd.custom+json': {'m': 2}}",
].join("\n");

describe.each([
  ["IPython", IPYTHON],
  ["plain (stdlib only)", plainPython()],
])("display with %s", (_label, python) => {
  test("display() with a display_id, then updates of it by id and by handle", async () => {
    const code = [
      "h = display('first', display_id='progress')",
      "display('other')",
      "display('second', display_id='progress', update=True)",
      "h.update('third')",
      "auto = display('auto', display_id=True)",
      "print(type(auto.display_id).__name__, len(auto.display_id) > 8)",
    ].join("\n");
    const r = await cells.run(python, code);
    expect(r.exitCode).toBe(0);
    const shown = r.events.filter((e) => e.type === "display_data" || e.type === "update_display_data");
    expect(
      shown.map((e) =>
        e.type === "display_data" || e.type === "update_display_data"
          ? [e.type, e.data["text/plain"], e.transient.display_id]
          : [],
      ),
    ).toEqual([
      ["display_data", "'first'", "progress"],
      ["display_data", "'other'", undefined],
      ["update_display_data", "'second'", "progress"],
      ["update_display_data", "'third'", "progress"],
      ["display_data", "'auto'", expect.any(String)],
    ]);
  });

  test("rich reprs, mime bundles with metadata, raw bundles", async () => {
    const code = `${RICH}\ndisplay(Rich())\ndisplay({'text/plain': 'raw'}, raw=True)\ndisplay(Bundle())\nRich()`;
    const r = await cells.run(python, code);
    expect(r.exitCode).toBe(0);
    const [rich, raw, bundle] = ofType(r.events, "display_data");
    expect(rich!.data).toEqual({
      "text/plain": "Rich()",
      "text/html": "<b>rich</b>",
      "text/markdown": "**rich**",
      "text/latex": "$\\alpha$",
      "application/json": { k: [1, 2] },
      "image/svg+xml": "<svg></svg>",
      "image/png": "iVBORw0KGgo=",
    });
    expect(raw!.data).toEqual({ "text/plain": "raw" });
    expect(bundle!.data).toEqual({ "text/plain": "B", "application/vnd.custom+json": { a: 1 } });
    expect(bundle!.metadata).toEqual({ "application/vnd.custom+json": { m: 2 } });
    const result = only(r.events, "execute_result");
    expect(result.data["text/html"]).toBe("<b>rich</b>");
    expect(result.data["image/png"]).toBe("iVBORw0KGgo=");
  });

  // Issue 10, defect 10: a bundle with a cycle failed the cell with an unexplained RecursionError.
  test("a format that contains itself is left out, a warning says which and where; the cell goes on", async () => {
    const code = [
      "d = {'a': 1}; d['self'] = d",
      "display({'text/plain': 'cyclic', 'application/json': d}, raw=True)",
      "deep = []; cur = deep",
      "for _ in range(5000): cur.append([]); cur = cur[0]",
      "display({'application/json': deep}, raw=True, metadata={'m': d})",
      "class J:",
      "    def _repr_json_(self): x = []; x.append(x); return x",
      "    def __repr__(self): return 'J()'",
      "print('still running')",
      "J()",
    ].join("\n");
    const r = await cells.run(python, code);
    expect(r.exitCode).toBe(0);
    expect(ofType(r.events, "error")).toEqual([]);
    expect(ofType(r.events, "display_data").map((e) => e.data)).toEqual([{ "text/plain": "cyclic" }]);
    expect(only(r.events, "execute_result").data).toEqual({ "text/plain": "J()" });
    expect(streamText(r.events, "stdout")).toBe("still running\n");
    expect(streamText(r.events, "stderr").split("\n")).toEqual([
      'alpine-kernel: could not display the application/json of a display: it contains itself (at ["self"]); shown: text/plain',
      "alpine-kernel: could not display the application/json of a display: it is nested more than 200 levels deep (at [0][0][0][0][0][0]...); shown: nothing",
      'alpine-kernel: could not display the metadata of a display: it contains itself (at ["m"]["self"]); shown: nothing',
      "alpine-kernel: could not display the application/json of the result: it contains itself (at [0]); shown: text/plain",
      "",
    ]);
  });
});

test("clear_output (IPython)", async () => {
  const r = await cells.run(
    IPYTHON,
    "from IPython.display import clear_output\nprint('a')\nclear_output(wait=True)\nprint('b')",
  );
  expect(r.exitCode).toBe(0);
  expect(only(r.events, "clear_output").wait).toBe(true);
});

test("matplotlib: plt.show() and figures left open become image/png, in order with the output", async () => {
  const code = [
    "import matplotlib.pyplot as plt",
    "plt.plot([1, 2, 3])",
    "plt.show()",
    "print('between')",
    "fig, ax = plt.subplots()",
    "ax.plot([3, 2, 1])",
    "plt.figure()  # empty: not shown",
    "print('end of cell')",
  ].join("\n");
  const r = await cells.run(IPYTHON, code);
  expect(r.exitCode).toBe(0);
  const order = r.events
    .filter((e) => e.type === "display_data" || (e.type === "stream" && e.text.trim() !== ""))
    .map((e) => (e.type === "stream" ? e.text.trim() : e.type));
  expect(order).toEqual(["display_data", "between", "end of cell", "display_data"]);
  for (const fig of ofType(r.events, "display_data")) {
    expect(fig.data["image/png"]).toMatch(PNG_BASE64);
    expect(Buffer.from(String(fig.data["image/png"]), "base64").length).toBeGreaterThan(5000);
    expect(fig.data["text/plain"]).toBe("<Figure size 640x480 with 1 Axes>");
  }
  // Closed after being shown: a following cell in the same process would start with no figure.
  expect(shape(r.events)).toEqual(["start", "display_data", "display_data", "end"]);
});

test("matplotlib: %matplotlib inline works too (IPython's inline backend, shown after the cell)", async () => {
  const r = await cells.run(
    IPYTHON,
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nprint('x')",
  );
  expect(r.exitCode).toBe(0);
  expect(shape(r.events)).toEqual(["start", "display_data", "end"]);
  expect(only(r.events, "display_data").data["image/png"]).toMatch(PNG_BASE64);
});

test("matplotlib: display(fig) shows the PNG; the backend is not forced on subprocesses", async () => {
  const code = [
    "import os, subprocess, sys, matplotlib",
    "import matplotlib.pyplot as plt",
    "fig = plt.figure(); fig.gca().plot([1, 2])",
    "display(fig)",
    "plt.close(fig)",
    "print(matplotlib.get_backend())",
    "print('MPLBACKEND' in os.environ)",
    "child = 'import matplotlib.pyplot as p; print(p.get_backend())'",
    "print(subprocess.run([sys.executable, '-c', child], capture_output=True, text=True).stdout.strip())",
  ].join("\n");
  const r = await cells.run(IPYTHON, code);
  expect(r.exitCode).toBe(0);
  expect(only(r.events, "display_data").data["image/png"]).toMatch(PNG_BASE64);
  const out = ofType(r.events, "stream")
    .map((e) => e.text)
    .join("");
  expect(out).toBe("module://alpine_kernel_mpl_backend\nFalse\nagg\n");
});
