/** A session directory's layout: every cell file's name comes from one place. */
import {
  cellPaths,
  inputAnswerPath,
  namespaceIndexPath,
  namespacePath,
  snapshotPath,
} from "../../../src/jobs/session-files";

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

test("the namespace store, a detached cell's snapshot of it, their indexes, and input answers", () => {
  const paths = cellPaths("/w/s1", 7);
  expect(namespacePath("/w/s1")).toBe("/w/s1/namespace");
  expect(snapshotPath(paths)).toBe("/w/s1/cells/0007.namespace");
  expect(namespaceIndexPath(namespacePath("/w/s1"))).toBe("/w/s1/namespace/index.json");
  expect(namespaceIndexPath(snapshotPath(paths))).toBe("/w/s1/cells/0007.namespace/index.json");
  expect(inputAnswerPath(paths, 2)).toBe("/w/s1/cells/0007.events.jsonl.input.2");
});
