/**
 * cellScript: the job script of each shape of cell, against golden files (`shape-*.sh` in
 * test/fixtures/job-scripts/; UPDATE_GOLDEN=1 rewrites them, review the diff), and the files and
 * directories each needs before it starts. Run by real bash in
 * test/integration/jobs/cell-shapes-bash.test.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cellScript } from "../../../src/jobs/cell-scripts";
import { GOLDEN } from "../../fixtures/job-scripts/cases";
import { shapeCases } from "../../fixtures/job-scripts/shape-cases";

describe("golden job scripts of each shape", () => {
  test.each(Object.keys(shapeCases))("%s.sh", (name) => {
    const { spec, context } = shapeCases[name]!;
    const text = cellScript(spec, context).script;
    const file = join(GOLDEN, `${name}.sh`);
    if (process.env.UPDATE_GOLDEN === "1") {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(file, text);
    }
    expect(text).toBe(readFileSync(file, "utf8"));
  });
});

test("an array writes each task's files in a folder of its own, made before the job starts", () => {
  const { spec, context } = shapeCases["shape-array"]!;
  const out = cellScript(spec, context);
  expect(out.dirs).toEqual(["/s/k1/cells/0007.tasks"]);
  expect(out.files).toEqual([]);
  expect(out.script).toContain("#SBATCH --output=/s/k1/cells/0007.tasks/%a.out\n");
  expect(out.script).toContain("#SBATCH --array=0-99%10\n");
  // Each task: its own events and namespace, the namespace as of submission, no stdin, task_id.
  expect(out.script).toContain(
    '--events /s/k1/cells/0007.tasks/"${SLURM_ARRAY_TASK_ID}".events.jsonl --execution-count 5 --namespace-in /s/k1/cells/0007.tasks/"${SLURM_ARRAY_TASK_ID}".namespace --namespace-out /s/k1/cells/0007.tasks/"${SLURM_ARRAY_TASK_ID}".namespace --namespace-seed /s/k1/cells/0007.namespace --env-name task_id=SLURM_ARRAY_TASK_ID',
  );
  expect(out.script).not.toContain("--allow-stdin");
});

test("a %%bash cell: its script written beside the job script, sourced; no runner, no environment set up", () => {
  const { spec, context } = shapeCases["shape-bash"]!;
  const out = cellScript(spec, context);
  expect(out.files).toEqual([{ path: "/s/k1/cells/0007.sh.user", data: spec.code }]);
  expect(out.script).toMatch(/\n\. \/s\/k1\/cells\/0007\.sh\.user\n$/);
  expect(out.script).not.toContain("alpine_kernel_runner");
  expect(out.script).not.toContain("conda activate");
});

test("an srun cell: rank 0 the cell's own files and the notebook's namespace, the others theirs", () => {
  const { spec, context } = shapeCases["shape-srun"]!;
  const out = cellScript(spec, context);
  expect(out.dirs).toEqual(["/s/k1/cells/0007.ranks"]);
  const line = out.script.split("\n").find((l) => l.startsWith("exec srun"))!;
  expect(line).toContain("--events /s/k1/cells/0007.events.jsonl");
  expect(line).toContain("--namespace-out /s/k1/namespace");
  expect(line).toContain('/s/k1/cells/0007.ranks/"${SLURM_PROCID}".events.jsonl');
  expect(line).toContain("--env-name rank=SLURM_PROCID --env-name size=SLURM_NTASKS");
});

test("a gather: its spec written as JSON, handed to the runner", () => {
  const { spec, context } = shapeCases["shape-gather"]!;
  const out = cellScript(spec, context);
  expect(out.files).toEqual([{ path: "/s/k1/cells/0007.gather.json", data: JSON.stringify(spec.gather) }]);
  expect(out.script).toContain("--gather /s/k1/cells/0007.gather.json");
});
