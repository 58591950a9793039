/**
 * What makes an array, dependent or gathering cell's job, over a real cell book (a Ledger file in a
 * temporary directory) and a fake of the session's files: `--after` resolved to jobs (or refused),
 * `%slurm gather` from each task's latest run, `%slurm rerun` of the failed tasks, and the
 * combinations that cannot work refused before anything is submitted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CellBook, type CellRecord } from "../../../src/cells/cell-book";
import { parseConfig } from "../../../src/config/config";
import type { SubmittedJob } from "../../../src/jobs/backend";
import { Ledger } from "../../../src/ledger/ledger";
import { parseCell } from "../../../src/magics/parse-cell";
import { MagicError } from "../../../src/magics/types";
import { planGather, planRerun } from "../../../src/session/array-magics";
import { resolveAfter } from "../../../src/session/cell-dependencies";
import type { CellHost } from "../../../src/session/cell-host";
import { CellOptions } from "../../../src/session/cell-options";
import { shapeJob } from "../../../src/session/cell-shape";
import { PARENT } from "../cells/fake-backend";

let dir: string;
let ledger: Ledger;
let codes: Map<string, string>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-arrays-"));
  ledger = new Ledger(join(dir, "ledger.jsonl"));
  codes = new Map();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const NOTEBOOK = "/home/maya/sweep.ipynb";

function record(seq: number, over: Partial<CellRecord> = {}): CellRecord {
  return {
    kind: "cell",
    id: `s1/${seq}`,
    sessionId: "s1",
    notebookKey: NOTEBOOK,
    seq,
    executionCount: seq,
    detached: false,
    jobId: String(4500 + seq),
    sessionDir: "/work/s1",
    submitted: new Date(Date.now() - 1000 * (100 - seq)).toISOString(),
    requested: {},
    origin: { parent: PARENT, clientId: "c1", allowStdin: true },
    state: "COMPLETED",
    ended: new Date().toISOString(),
    ...over,
  };
}

function host(backend: "slurm" | "local" = "slurm", executionCount = 20): CellHost {
  const config = parseConfig(`backend: ${backend}\n`, "config.yaml");
  const files = {
    taskNamespace: (job: SubmittedJob, t: number) =>
      `${job.sessionDir}/cells/${job.seq}.tasks/${t}.namespace.pkl`,
    snapshotOf: (job: SubmittedJob) => `${job.sessionDir}/cells/${job.seq}.namespace.pkl`,
    cellCode: async (job: SubmittedJob) => codes.get(job.jobId) ?? null,
  };
  // A hand-written fake of the narrow view the cell's planning uses.
  return {
    id: "s1",
    notebookKey: NOTEBOOK,
    executionCount,
    options: new CellOptions(config, undefined),
    env: { cells: new CellBook(ledger), files, config },
  } as unknown as CellHost;
}

const put = (rec: CellRecord) => ledger.put(rec);
const sweep = (seq: number, over: Partial<CellRecord> = {}) =>
  record(seq, { array: { spec: "0-4%2", sbatch: [["--time", "0:01:00"]] }, ...over });

describe("--after", () => {
  test("a cell in flight: its job; a job id: as is; a completed cell: nothing to wait for", () => {
    put(record(3, { ended: undefined, state: "PENDING", detached: true }));
    put(record(4));
    const deps = resolveAfter(host(), ["3", "98765", "4", "3"]);
    expect(deps).toEqual({
      after: [
        { jobId: "4503", label: "cell 3 (job 4503)" },
        { jobId: "98765", label: "job 98765" },
      ],
      dependency: "afterok:4503:98765",
      notes: ["cell 4 (job 4504) has already completed: nothing to wait for"],
    });
  });

  test("a cell that failed: refused, nothing submitted", () => {
    put(record(5, { state: "TIMEOUT" }));
    expect(() => resolveAfter(host(), ["5"])).toThrow(
      "--after 5: cell 5 (job 4505) ended TIMEOUT, so this cell would never start; run cell 5 again first (nothing was submitted)",
    );
  });

  test("a past cell that ran no job: nothing to wait for, said", () => {
    expect(() => resolveAfter(host("slurm", 20), ["7"])).toThrow("cell 7 of this notebook ran no job");
  });

  test("this kernel's cell first, when an earlier kernel of the notebook had the same number", () => {
    put(record(3, { sessionId: "old", id: "old/3", jobId: "1111", ended: undefined, state: "PENDING" }));
    put(record(3, { ended: undefined, state: "PENDING" }));
    expect(resolveAfter(host(), ["3"]).dependency).toBe("afterok:4503");
  });
});

describe("%slurm gather", () => {
  test("each task's latest run: the first array's tasks, a rerun's for those it ran again", () => {
    put(
      sweep(2, {
        parts: {
          unit: "task",
          total: 5,
          done: 3,
          failed: [
            { index: 1, state: "TIMEOUT", name: "SlurmTimeout" },
            { index: 3, state: "FAILED", name: "ValueError" },
          ],
        },
      }),
    );
    put(
      sweep(6, {
        jobId: "4600",
        array: { spec: "1,3%2", sbatch: [], rerunOf: "4502" },
        parts: {
          unit: "task",
          total: 2,
          done: 1,
          failed: [{ index: 3, state: "FAILED", name: "ValueError" }],
        },
      }),
    );
    const g = planGather(host(), ["4600", "loss", "--into", "losses"]);
    expect(g).toMatchObject({ array: "4502", name: "loss", into: "losses" });
    expect(g.tasks).toEqual([
      { task: 0, namespace: "/work/s1/cells/2.tasks/0.namespace.pkl", state: "COMPLETED" },
      { task: 1, namespace: "/work/s1/cells/6.tasks/1.namespace.pkl", state: "COMPLETED" },
      { task: 2, namespace: "/work/s1/cells/2.tasks/2.namespace.pkl", state: "COMPLETED" },
      { task: 3, namespace: "/work/s1/cells/6.tasks/3.namespace.pkl", state: "FAILED" },
      { task: 4, namespace: "/work/s1/cells/2.tasks/4.namespace.pkl", state: "COMPLETED" },
    ]);
  });

  test.each<[string[], string]>([
    [["4502"], "usage: %slurm gather ARRAY NAME [--into VARIABLE]"],
    [["4502", "x", "--to", "y"], "usage: %slurm gather"],
    [["4502", "1x"], "'1x' is not a Python name"],
    [["4503", "x"], "job 4503 is not an array cell of this notebook (its arrays: 4502)"],
    [["abc", "x"], "'abc' is not an array's job id"],
  ])("refused: %j", (args, message) => {
    put(sweep(2));
    put(record(3));
    expect(() => planGather(host(), args)).toThrow(message);
  });
});

describe("%slurm rerun", () => {
  test("the failed tasks, with the first run's code, namespace and options (this cell's on top)", async () => {
    put(
      sweep(2, {
        parts: {
          unit: "task",
          total: 5,
          done: 3,
          failed: [
            { index: 1, state: "TIMEOUT", name: "SlurmTimeout" },
            { index: 3, state: "FAILED", name: "ValueError" },
          ],
        },
      }),
    );
    codes.set("4502", "loss = run(task_id)\n");
    const plan = await planRerun(
      host(),
      ["4502", "--failed"],
      parseCell("%%slurm -t 0:10:00\nx").cellOptions,
    );
    expect(plan.code).toBe("loss = run(task_id)\n");
    expect(plan.array).toEqual({
      spec: "1,3%2",
      rerunOf: "4502",
      namespaceFrom: "/work/s1/cells/2.namespace.pkl",
    });
    expect(plan.options.sbatch).toEqual([["--time", "0:10:00"]]);
    expect(plan.note).toBe(
      "alpine-kernel: rerunning tasks 1, 3 of array 4502 (cell 2), from the namespace it started from\n",
    );
  });

  test("--tasks: those tasks; the second rerun of a line reruns what is still failed", async () => {
    put(
      sweep(2, {
        parts: {
          unit: "task",
          total: 5,
          done: 3,
          failed: [
            { index: 1, state: "TIMEOUT", name: "x" },
            { index: 3, state: "FAILED", name: "x" },
          ],
        },
      }),
    );
    put(
      sweep(6, {
        jobId: "4600",
        array: { spec: "1,3", sbatch: [], rerunOf: "4502" },
        parts: { unit: "task", total: 2, done: 1, failed: [{ index: 3, state: "FAILED", name: "x" }] },
      }),
    );
    codes.set("4502", "x\n");
    expect((await planRerun(host(), ["4600", "--failed"], undefined)).array.spec).toBe("3%2");
    expect((await planRerun(host(), ["4502", "--tasks", "0-1"], undefined)).array.spec).toBe("0-1%2");
  });

  test.each<[string[], Partial<CellRecord>, string]>([
    [["4502", "--failed"], {}, "no task of array 4502 failed: nothing to rerun"],
    [
      ["4502", "--failed"],
      { ended: undefined, state: "RUNNING" },
      "array 4502 is still running: rerun its tasks once it has ended (%scancel 4502 stops it)",
    ],
    [["4502", "--tasks", "9"], {}, "array 4502 has no task 9 (its tasks: 0-4)"],
    [["4502"], {}, "usage: %slurm rerun ARRAY --failed"],
    [["4502", "--failed", "3"], {}, "usage: %slurm rerun ARRAY --failed"],
  ])("refused: %j", async (args, over, message) => {
    put(sweep(2, { parts: { unit: "task", total: 5, done: 5, failed: [] }, ...over }));
    codes.set("4502", "x\n");
    await expect(planRerun(host(), args, undefined)).rejects.toThrow(message);
  });

  test("its code gone from the cluster: said, nothing submitted", async () => {
    put(
      sweep(2, {
        parts: { unit: "task", total: 5, done: 4, failed: [{ index: 0, state: "FAILED", name: "x" }] },
      }),
    );
    await expect(planRerun(host(), ["4502", "--failed"], undefined)).rejects.toThrow(
      "the code of array 4502 is no longer on the cluster (/work/s1): run its cell again",
    );
  });
});

describe("what cannot work is refused before submission", () => {
  const shape = async (code: string, backend: "slurm" | "local" = "slurm") => {
    const h = host(backend);
    const plan = parseCell(code);
    const gather = plan.lineMagics.find((m) => m.args[0] === "gather");
    return shapeJob(h, plan, await h.options.effective(plan.cellOptions), gather);
  };

  test("an array: its tasks out of the options, into the job", async () => {
    const s = await shape("%%slurm --array 0-9%2 -t 5\nx = task_id");
    expect(s.array).toEqual({ spec: "0-9%2" });
    expect(s.options.sbatch).toEqual([["--time", "5"]]);
  });

  test("--after: the dependency among the options, what it waits for on the cell", async () => {
    put(record(3, { ended: undefined, state: "PENDING", detached: true }));
    const s = await shape("%%slurm --after 3\nx");
    expect(s.options.sbatch).toEqual([["--dependency", "afterok:4503"]]);
    expect(s.after).toEqual([{ jobId: "4503", label: "cell 3 (job 4503)" }]);
  });

  test("a raw --dependency: what it waits for, named as the user knows it", async () => {
    put(record(3, { ended: undefined, state: "PENDING" }));
    expect((await shape("%%slurm -d afterany:4503:777\nx")).after).toEqual([
      { jobId: "4503", label: "cell 3 (job 4503)" },
      { jobId: "777", label: "job 777" },
    ]);
  });

  test.each<[string, string, "slurm" | "local"]>([
    ["%%slurm --array 0-3\nx", "--array needs Slurm: on the local backend", "local"],
    ["%%srun\nx", "%%srun needs Slurm", "local"],
    ["%%slurm --after 98765\nx", "--after/--dependency needs Slurm", "local"],
    ["%%slurm --array 0-3\n%%srun\nx", "an array cell cannot also be an %%srun cell", "slurm"],
    ["%%slurm --detach\n%slurm gather 4502 x\n", "not in a --detach cell", "slurm"],
    ["%%slurm --array 0-3\n%slurm gather 4502 x\n", "%slurm gather goes in a plain Python cell", "slurm"],
  ])("%j", async (code, message, backend) => {
    put(sweep(2));
    await expect(shape(code, backend)).rejects.toThrow(MagicError);
    await expect(shape(code, backend)).rejects.toThrow(message);
  });

  test("%%bash on the local backend runs (bash is here)", async () => {
    expect((await shape("%%bash\necho hi", "local")).mode).toBe("bash");
  });
});
