/** The Python Jupyter runs in, found from the kernel's parent process (its argv[0]). */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isPythonName, jupyterPython } from "../../../src/kernel/jupyter-python";

let dir: string;
let venvPython: string;
const savedPath = process.env.PATH;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-jpy-"));
  venvPython = join(dir, "python3");
  writeFileSync(venvPython, "#!/bin/sh\n", { mode: 0o755 });
  symlinkSync(venvPython, join(dir, "python"));
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

test.each([
  ["python", true],
  ["python3", true],
  ["/usr/bin/python3.11", true],
  ["/opt/venv/bin/python", true],
  ["node", false],
  ["/usr/bin/jupyter-lab", false],
  ["pythonw", false],
])("%s is a Python: %s", (name, yes) => expect(isPythonName(name)).toBe(yes));

test("an absolute interpreter path is kept as it is (a venv's link, not its target)", () => {
  expect(jupyterPython(4242, () => join(dir, "python"))).toBe(join(dir, "python"));
});

test("a bare name is looked up on PATH", () => {
  process.env.PATH = `/nonexistent:${dir}`;
  expect(jupyterPython(4242, () => "python3")).toBe(venvPython);
});

test("not a Python parent (node running `alpine-kernel run`, a test), a missing file, pid 1: none", () => {
  expect(jupyterPython(4242, () => "/usr/bin/node")).toBeUndefined();
  expect(jupyterPython(4242, () => join(dir, "nope", "python3"))).toBeUndefined();
  expect(jupyterPython(4242, () => undefined)).toBeUndefined();
  expect(jupyterPython(1, () => venvPython)).toBeUndefined();
});
