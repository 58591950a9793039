/**
 * Headless notebook execution: Debian's `jupyter nbconvert --execute` with the "alpine" kernelspec
 * (nbclient → ZMQ bridge → server → local backend), and our own `alpine-kernel run` and
 * `alpine-kernel demo`.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CLI,
  ROOT,
  installKernelSpec,
  isolatedEnv,
  requireBuilt,
  requireProgram,
  type IsolatedEnv,
} from "../helpers/env";

const JUPYTER = "/usr/bin/jupyter";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  execution_count?: number;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
}

function notebook(cells: string[]): Notebook & { nbformat: number; nbformat_minor: number } {
  return {
    cells: cells.map((source, i) => ({
      cell_type: "code",
      id: `cell-${i + 1}`,
      source,
      metadata: {},
      outputs: [],
      execution_count: null,
    })),
    metadata: { kernelspec: { name: "alpine", display_name: "Python (Alpine)", language: "python" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

const GOOD_CELLS = [
  "x = 20\nprint('hello from cell 1')",
  "x * 2 + 2",
  "from IPython.display import HTML, display\ndisplay(HTML('<b>bold x=%d</b>' % x))\n" +
    "import matplotlib.pyplot as plt\nplt.plot([1, 4, 2])\nplt.title('nbconvert plot')\nplt.show()",
  "for i in range(3):\n    print('line', i)",
];
const FAILING_CELLS = [
  "print('before the failure')",
  "raise ValueError('this cell fails on purpose')",
  "print('after the failure')",
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to its end (never throws on a non-zero exit: the tests check the status). */
function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs = 90_000,
): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env, cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number")
          return reject(new Error(`${file} ${args.join(" ")} did not finish: ${err.message}\n${stderr}`));
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
      },
    );
  });
}

const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));
const streamText = (cell: Cell, name = "stdout") =>
  (cell.outputs ?? [])
    .filter((o) => o.output_type === "stream" && o.name === name)
    .map((o) => text(o.text))
    .join("");
const readNb = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Notebook;
const PNG_BASE64 = /^iVBORw0KGgo/;

/** The four cells of GOOD_CELLS as any executor should have filled them in. */
function expectGoodOutputs(nb: Notebook): void {
  const [c1, c2, c3, c4] = nb.cells;
  expect(streamText(c1!)).toBe("hello from cell 1\n");
  // State across cells: x from cell 1, the value as an execute_result.
  const result = c2!.outputs!.find((o) => o.output_type === "execute_result");
  expect(text(result?.data?.["text/plain"])).toBe("42");
  expect(result?.execution_count).toBe(2);
  expect(c2!.execution_count).toBe(2);
  const displays = c3!.outputs!.filter((o) => o.output_type === "display_data");
  expect(text(displays.find((o) => o.data?.["text/html"])?.data?.["text/html"])).toBe("<b>bold x=20</b>");
  const png = text(displays.find((o) => o.data?.["image/png"])?.data?.["image/png"]);
  expect(png).toMatch(PNG_BASE64);
  expect(Buffer.from(png, "base64").length).toBeGreaterThan(5000);
  expect(streamText(c4!)).toBe("line 0\nline 1\nline 2\n");
}

describe("nbconvert --execute and alpine-kernel run/demo", () => {
  let iso: IsolatedEnv;
  let good: string;
  let failing: string;
  beforeAll(() => {
    iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
    installKernelSpec(iso.env);
    good = join(iso.dir, "good.ipynb");
    failing = join(iso.dir, "failing.ipynb");
    writeFileSync(good, JSON.stringify(notebook(GOOD_CELLS)));
    writeFileSync(failing, JSON.stringify(notebook(FAILING_CELLS)));
  });
  afterAll(() => iso.cleanup());

  const nbconvert = (input: string, output: string, extra: string[] = []) => {
    requireProgram("/usr/bin/jupyter-nbconvert", "apt-get install jupyter-nbconvert python3-nbclient");
    return run(
      JUPYTER,
      ["nbconvert", "--to", "notebook", "--execute", ...extra, "--output", output, input],
      iso.env,
      iso.dir,
    );
  };

  test("nbconvert executes a notebook: state, execute_result, HTML and PNG displays, stdout", async () => {
    const r = await nbconvert(good, "good.nbconvert.ipynb");
    expect([r.code, r.stderr]).toEqual([0, expect.stringContaining("Writing")]);
    expectGoodOutputs(readNb(join(iso.dir, "good.nbconvert.ipynb")));
  });

  test("a failing cell makes nbconvert fail with the error; --allow-errors keeps going", async () => {
    const [stop, goOn] = await Promise.all([
      nbconvert(failing, "failing.nbconvert.ipynb"),
      nbconvert(failing, "failing.allow.ipynb", ["--allow-errors"]),
    ]);
    expect(stop.code).not.toBe(0);
    expect(stop.stderr).toContain("ValueError");
    expect(stop.stderr).toContain("this cell fails on purpose");
    expect(stop.stderr).toContain("raise ValueError('this cell fails on purpose')");

    expect([goOn.code, goOn.stderr]).toEqual([0, expect.any(String)]);
    const nb = readNb(join(iso.dir, "failing.allow.ipynb"));
    expect(streamText(nb.cells[0]!)).toBe("before the failure\n");
    expect(nb.cells[1]!.outputs).toEqual([
      expect.objectContaining({
        output_type: "error",
        ename: "ValueError",
        evalue: "this cell fails on purpose",
      }),
    ]);
    expect(streamText(nb.cells[2]!)).toBe("after the failure\n");
    expect(nb.cells[2]!.execution_count).toBe(3);
  });

  test("alpine-kernel run: exit 0 and outputs written; non-zero when a cell fails", async () => {
    requireBuilt();
    const goodOut = join(iso.dir, "good.run.ipynb");
    const failOut = join(iso.dir, "failing.run.ipynb");
    const ok = await run(process.execPath, [CLI, "run", good, "-o", goodOut], iso.env, iso.dir);
    expect([ok.code, ok.stderr]).toEqual([0, expect.stringContaining("all cells ran")]);
    expectGoodOutputs(readNb(goodOut));

    const bad = await run(process.execPath, [CLI, "run", failing, "-o", failOut], iso.env, iso.dir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("cell 2 failed");
    const nb = readNb(failOut);
    expect(streamText(nb.cells[0]!)).toBe("before the failure\n");
    expect(nb.cells[1]!.outputs).toEqual([
      expect.objectContaining({
        output_type: "error",
        ename: "ValueError",
        evalue: "this cell fails on purpose",
      }),
    ]);
    // The run stopped at the failure: the third cell never ran.
    expect(nb.cells[2]!.outputs).toEqual([]);
    expect(nb.cells[2]!.execution_count ?? null).toBeNull();
  });

  test("alpine-kernel demo: DataFrame table, PNG plot, progress lines and a 10,000-row CSV", async () => {
    requireBuilt();
    const outDir = join(ROOT, "examples", "output");
    const started = Date.now() - 1000;
    const r = await run(
      process.execPath,
      [CLI, "demo", "--python", "/usr/bin/python3"],
      iso.env,
      iso.dir,
      120_000,
    );
    expect([r.code, r.stderr]).toEqual([0, expect.stringContaining("all cells ran")]);
    // Cell output is echoed live to the terminal too.
    expect(r.stderr).toMatch(/│ \d\d:\d\d:\d\d generated rows 0-1999 of 10000/);

    const nbPath = join(outDir, "alpine-demo.out.ipynb");
    const csvPath = join(outDir, "example_output.csv");
    // Written by this run, not left over from an earlier one.
    expect(statSync(nbPath).mtimeMs).toBeGreaterThanOrEqual(started);
    expect(statSync(csvPath).mtimeMs).toBeGreaterThanOrEqual(started);

    const nb = readNb(nbPath);
    const code = nb.cells.filter((c) => c.cell_type === "code");
    const outputs = code.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    const progress = code.map((c) => streamText(c)).join("");
    for (let start = 0; start < 10_000; start += 2_000)
      expect(progress).toContain(`generated rows ${start}-${start + 1999} of 10000`);
    expect(progress).toContain("built (10000, 500)");
    expect(progress).toMatch(/wrote .*example_output\.csv/);
    const html = outputs.map((o) => text(o.data?.["text/html"])).filter(Boolean);
    expect(html.some((h) => h.includes("<table") && h.includes("col_0") && h.includes("col_7"))).toBe(true);
    const pngs = outputs.map((o) => text(o.data?.["image/png"])).filter(Boolean);
    expect(pngs.length).toBeGreaterThanOrEqual(1);
    expect(pngs[0]).toMatch(PNG_BASE64);

    expect(existsSync(csvPath)).toBe(true);
    // 96 MB: count lines on the bytes rather than splitting one huge string.
    const csv = readFileSync(csvPath);
    let newlines = 0;
    for (let i = csv.indexOf(10); i !== -1; i = csv.indexOf(10, i + 1)) newlines++;
    expect(newlines).toBe(10_001);
    expect(csv[csv.length - 1]).toBe(10);
    const [header, first] = csv.subarray(0, 20_000).toString("utf8").split("\n");
    expect(header!.split(",")).toEqual(Array.from({ length: 500 }, (_, i) => `col_${i}`));
    expect(
      first!
        .split(",")
        .map(Number)
        .every((v) => v >= 0 && v < 1),
    ).toBe(true);
  });
});
