/** A session directory's layout: every cell file's name comes from one place. */
import type { Transport } from "../../../src/cluster/transport";
import {
  cellPaths,
  inputAnswerPath,
  namespaceIndexPath,
  namespacePath,
  notebookDirName,
  SessionFiles,
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

describe("where a notebook's cells run", () => {
  const transport = (kind: "local" | "ssh") => ({ kind }) as unknown as Transport;
  const files = (kind: "local" | "ssh", notebookDir = "{work_dir}/notebooks/{notebook}") =>
    new SessionFiles(transport(kind), { notebookDir, workDir: "/scratch/alpine/$USER/alpine-kernel/" });

  test("over the local transport: the notebook's own folder", () => {
    expect(files("local").cellsDir("/home/maya/notebooks", "analysis.ipynb")).toBe("/home/maya/notebooks");
    expect(files("local").notebooksRoot()).toBeUndefined();
  });

  test("over SSH: a directory of its own on the cluster, from cluster.notebook_dir", () => {
    expect(files("ssh").cellsDir("/Users/maya/notebooks", "analysis.ipynb")).toBe(
      "/scratch/alpine/$USER/alpine-kernel/notebooks/analysis",
    );
    expect(files("ssh").notebooksRoot()).toBe("/scratch/alpine/$USER/alpine-kernel/notebooks");
    expect(files("ssh", "~/projects/{notebook}/run").cellsDir("/x", "a.ipynb")).toBe("~/projects/a/run");
    expect(files("ssh", "~/projects/{notebook}/run").notebooksRoot()).toBeUndefined();
    expect(files("ssh", "/projects/$USER/shared").cellsDir("/x", "a.ipynb")).toBe("/projects/$USER/shared");
  });

  test.each([
    ["analysis.ipynb", "analysis"],
    ["My Notebook (v2).ipynb", "My_Notebook_v2"],
    ["../../etc/passwd", "etc_passwd"],
    ["..", "notebook"],
    ["", "notebook"],
    [".hidden.ipynb", "hidden"],
    ["données ✓.IPYNB", "donn_es"],
    ["a;rm -rf ~.ipynb", "a_rm_-rf"],
  ])("the notebook's name %j as a directory name: %j", (name, dir) => {
    expect(notebookDirName(name)).toBe(dir);
  });
});
