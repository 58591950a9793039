/**
 * What the runner does for array and srun cells, with real interpreters: names from the job's
 * environment (`--env-name task_id=SLURM_ARRAY_TASK_ID`), and `--gather` — one name from each
 * task's saved namespace into the cell's, as a list or (dicts, pandas) a DataFrame, saying which
 * tasks had none. With IPython and dill, and with the stdlib alone.
 */
import { writeFileSync } from "node:fs";
import { CellDir, IPYTHON, only, plainPython, shape, streamText } from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

/** Task `t` of an array: its own namespace file, `task_id` from the environment. */
async function task(python: readonly string[], code: string, t: number, prefix: string) {
  const r = await cells.run(python, code, {
    extraArgs: [
      "--namespace-out",
      cells.path(`${prefix}-${t}.pkl`),
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
      tasks: tasks.map(([t, state]) => ({ task: t, namespace: cells.path(`${prefix}-${t}.pkl`), state })),
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

  test("an unreadable gather spec: GatherFailed, and the cell's code does not run", async () => {
    const bad = cells.path(`${prefix}-bad.json`);
    writeFileSync(bad, "{not json");
    const r = await cells.run(python, "print('ran')", { extraArgs: ["--gather", bad] });
    expect(only(r.events, "error")).toMatchObject({ ename: "GatherFailed" });
    expect(streamText(r.events, "stdout")).toBe("");
    expect(only(r.events, "end")).toMatchObject({ status: "error" });
  });
});
