/** A session directory's layout: every cell file's name comes from one place. */
import { cellPaths, inputAnswerPath, namespacePath, snapshotPath } from "../../../src/jobs/session-files";

test("cellPaths: the cell's files side by side, numbered", () => {
  expect(cellPaths("/w/s1", 7)).toEqual({
    code: "/w/s1/cells/0007.py",
    script: "/w/s1/cells/0007.sh",
    events: "/w/s1/cells/0007.events.jsonl",
    stdout: "/w/s1/cells/0007.out",
    stderr: "/w/s1/cells/0007.err",
  });
  expect(cellPaths("/w/s1", 12345).code).toBe("/w/s1/cells/12345.py");
});

test("the namespace, a detached cell's snapshot and input answers", () => {
  const paths = cellPaths("/w/s1", 7);
  expect(namespacePath("/w/s1")).toBe("/w/s1/namespace.pkl");
  expect(snapshotPath(paths)).toBe("/w/s1/cells/0007.namespace.pkl");
  expect(inputAnswerPath(paths, 2)).toBe("/w/s1/cells/0007.events.jsonl.input.2");
});
