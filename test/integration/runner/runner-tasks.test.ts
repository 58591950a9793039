/**
 * What the runner does for array and srun cells, with real interpreters: names from the job's
 * environment (`--env-name task_id=SLURM_ARRAY_TASK_ID`), and `--gather` — one name from each
 * task's saved namespace store into the cell's, as a list or (dicts, pandas) a DataFrame, saying
 * which tasks had none — and `--namespace-seed`, a task's store started from its array's snapshot.
 * With IPython and dill, and with the stdlib alone.
 */
import { writeFileSync } from "node:fs";
import { CellDir, IPYTHON, only, plainPython, shape, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

/** Task `t` of an array: its own namespace store, `task_id` from the environment. */
async function task(python: readonly string[], code: string, t: number, prefix: string) {
  const r = await cells.run(python, code, {
    extraArgs: [
      "--namespace-out",
      cells.path(`${prefix}-${t}.namespace`),
      "--env-name",
      "task_id=SLURM_ARRAY_TASK_ID",
    ],
    env: { SLURM_ARRAY_TASK_ID: String(t) },
  });
  expect(shape(r.events).at(-1)).toBe("end");
  return r;
}

function gatherSpec(name: string, prefix: string, tasks: [number, string][], into = name): string {
  const path = cells.path(`${prefix}-${name}-gather.json`);
  writeFileSync(
    path,
    JSON.stringify({
      array: "4521",
      name,
      into,
      tasks: tasks.map(([t, state]) => ({
        task: t,
        namespace: cells.path(`${prefix}-${t}.namespace`),
        state,
      })),
    }),
  );
  return path;
}

describe.each([
  ["IPython, dill and pandas (Debian's python3-pandas)", IPYTHON, "ip", true],
  ["the stdlib alone", plainPython(), "plain", false],
] as const)("with %s", (_label, python, prefix, pandas) => {
  beforeAll(async () => {
    const code = [
      "import math",
      "def sq(x):",
      "    return x * x",
      "loss = sq(task_id) / 10",
      "row = {'task': task_id, 'loss': loss}",
      "if task_id == 2: del row",
    ].join("\n");
    for (const t of [0, 1, 2]) await task(python, code, t, prefix);
  });

  test("--env-name: task_id is the task's index, an int, in the cell's namespace", async () => {
    const r = await cells.run(python, "print(type(task_id).__name__, task_id, rank)", {
      extraArgs: ["--env-name", "task_id=SLURM_ARRAY_TASK_ID", "--env-name", "rank=SLURM_PROCID"],
      env: { SLURM_ARRAY_TASK_ID: "17", SLURM_PROCID: "x3" },
    });
    expect(streamText(r.events, "stdout")).toBe("int 17 x3\n");
  });

  test("--env-name that is not NAME=VARIABLE: a usage error, no events", async () => {
    const r = await cells.run(python, "1", { extraArgs: ["--env-name", "1x=Y"] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--env-name wants NAME=VARIABLE, not '1x=Y'/);
  });

  test("a list in task order; the tasks without the name are named with how they ended", async () => {
    const spec = gatherSpec("loss", prefix, [
      [0, "COMPLETED"],
      [1, "COMPLETED"],
      [2, "COMPLETED"],
      [3, "TIMEOUT"],
    ]);
    const r = await cells.run(python, "print(repr(loss))", { extraArgs: ["--gather", spec] });
    expect(streamText(r.events, "stdout")).toBe(
      "gathered 'loss' from 3 of 4 tasks of array 4521 into loss: a list in task order\n" +
        "(the list holds tasks 0-2, in that order)\n" +
        "no 'loss' in task 3 (TIMEOUT: no saved namespace)\n" +
        "[0.0, 0.1, 0.4]\n",
    );
  });

  test("dicts: a DataFrame indexed by task_id when pandas is there, else a list; a task without the name is said", async () => {
    const spec = gatherSpec(
      "row",
      prefix,
      [
        [0, "COMPLETED"],
        [1, "COMPLETED"],
        [2, "COMPLETED"],
      ],
      "rows",
    );
    const r = await cells.run(python, "print(type(rows).__name__)", { extraArgs: ["--gather", spec] });
    const out = streamText(r.events, "stdout");
    expect(out).toContain("no 'row' in task 2 (no name 'row' in its namespace)\n");
    if (pandas) {
      expect(out).toContain(
        "gathered 'row' from 2 of 3 tasks of array 4521 into rows: a DataFrame, one row per task (index task_id)\n",
      );
      expect(out).toMatch(/DataFrame\n$/);
      const r2 = await cells.run(python, "print(rows.loc[1, 'loss'], list(rows.index), rows.index.name)", {
        extraArgs: ["--gather", spec],
      });
      expect(streamText(r2.events, "stdout")).toMatch(/0\.1 \[0, 1\] task_id\n$/);
    } else {
      expect(out).toContain("into rows: a list in task order\n(the list holds tasks 0-1, in that order)\n");
      expect(out).toMatch(/list\n$/);
    }
  });

  test("a function defined in the tasks' cell gathers and works", async () => {
    const spec = gatherSpec("sq", prefix, [[0, "COMPLETED"]]);
    const r = await cells.run(python, "print(sq[0](7))", { extraArgs: ["--gather", spec] });
    expect(streamText(r.events, "stdout")).toMatch(/49\n$/);
  });

  test("--namespace-seed: a task starts from the snapshot, its changes stay in its own store", async () => {
    const snapshot = `${prefix}-snapshot`;
    await cells.run(python, "base = 10\nlabel = 'run'", { namespace: snapshot });
    const own = cells.path(`${prefix}-seeded.namespace`);
    const seeded = ["--namespace-in", own, "--namespace-out", own, "--namespace-seed", cells.path(snapshot)];
    const code = "print(base + task_id, label)\nbase = -1";
    const first = await cells.run(python, code, {
      extraArgs: [...seeded, "--env-name", "task_id=SLURM_ARRAY_TASK_ID"],
      env: { SLURM_ARRAY_TASK_ID: "5" },
    });
    expect(streamText(first.events, "stdout")).toBe("15 run\n");
    // Run again (a requeued task): seeded afresh, not from its own first run's base = -1.
    const again = await cells.run(python, code, {
      extraArgs: [...seeded, "--env-name", "task_id=SLURM_ARRAY_TASK_ID"],
      env: { SLURM_ARRAY_TASK_ID: "5" },
    });
    expect(streamText(again.events, "stdout")).toBe("15 run\n");
    const notebook = await cells.run(python, "print(base)", { namespace: snapshot });
    expect(streamText(notebook.events, "stdout")).toBe("10\n");
    const task = await cells.run(python, "print(base)", { extraArgs: ["--namespace-in", own] });
    expect(streamText(task.events, "stdout")).toBe("-1\n");
  });

  test("gather: a seeded task that died before saving has no namespace, not the snapshot's names", async () => {
    const snapshot = `${prefix}-snapshot2`;
    await cells.run(python, "loss = 99", { namespace: snapshot });
    const own = cells.path(`${prefix}-died.namespace`);
    const died = await cells.run(python, "import os\nos._exit(3)", {
      extraArgs: ["--namespace-in", own, "--namespace-out", own, "--namespace-seed", cells.path(snapshot)],
    });
    expect(died.exitCode).toBe(3);
    const spec = cells.path(`${prefix}-died-gather.json`);
    writeFileSync(
      spec,
      JSON.stringify({
        array: "4521",
        name: "loss",
        into: "loss",
        tasks: [{ task: 7, namespace: own, state: "FAILED" }],
      }),
    );
    const r = await cells.run(python, "print(loss)", { extraArgs: ["--gather", spec] });
    expect(streamText(r.events, "stdout")).toContain("no 'loss' in task 7 (FAILED: no saved namespace)\n");
  });

  test("--namespace-seed without --namespace-out: a usage error", async () => {
    const r = await cells.run(python, "1", { extraArgs: ["--namespace-seed", cells.path(`${prefix}-x`)] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--namespace-seed needs --namespace-out/);
  });

  test("an unreadable gather spec: GatherFailed, and the cell's code does not run", async () => {
    const bad = cells.path(`${prefix}-bad.json`);
    writeFileSync(bad, "{not json");
    const r = await cells.run(python, "print('ran')", { extraArgs: ["--gather", bad] });
    expect(only(r.events, "error")).toMatchObject({ ename: "GatherFailed" });
    expect(streamText(r.events, "stdout")).toBe("");
    expect(only(r.events, "end")).toMatchObject({ status: "error" });
  });
});
