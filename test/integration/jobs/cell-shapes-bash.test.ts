/**
 * The job scripts of %%bash and %%srun cells, run by real bash (srun and python faked on PATH):
 * a %%bash cell writes the events-file contract itself — start, its failure (exit code or
 * interrupt) and end, read back with the server's own parser — and an srun cell gives rank 0 the
 * cell's own files and the other ranks theirs.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CellJobSpec } from "../../../src/jobs/backend";
import { cellScript, type ScriptContext } from "../../../src/jobs/cell-scripts";
import { parseRunnerEvents, type RunnerEvent } from "../../../src/jobs/runner-events";
import { cellPaths } from "../../../src/jobs/session-files";
import { context, spec } from "../../fixtures/job-scripts/shape-cases";

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "ak-shapes-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes a cell's job script and its files under a fresh session directory; returns where. */
function prepare(cell: Partial<CellJobSpec>): { script: string; ctx: ScriptContext } {
  const session = join(dir, `s${++n}`);
  const paths = cellPaths(session, 7);
  const work = join(session, "work");
  mkdirSync(join(session, "cells"), { recursive: true });
  mkdirSync(work);
  const ctx: ScriptContext = {
    ...context,
    paths,
    workDir: work,
    runnerPath: join(dir, "runner.py"),
    environment: { modules: [], setup: [], python: join(dir, "bin", "python") },
    namespaceIn: join(session, "namespace"),
    namespaceOut: join(session, "namespace"),
    snapshot: join(session, "cells", "0007.namespace"),
    header: { ...context.header, stdoutPath: paths.stdout, stderrPath: paths.stderr },
  };
  const out = cellScript({ ...spec, ...cell }, ctx);
  for (const d of out.dirs) mkdirSync(d, { recursive: true });
  for (const f of out.files) writeFileSync(f.path, f.data);
  writeFileSync(paths.script, out.script, { mode: 0o755 });
  return { script: paths.script, ctx };
}

function events(path: string): RunnerEvent[] {
  const { events, bad } = parseRunnerEvents(readFileSync(path, "utf8"));
  expect(bad).toEqual([]);
  return events;
}

const ENV = { ...process.env, SLURMD_NODENAME: "c3cpu-a1-u1-1", SLURM_JOB_ID: "4530", LC_ALL: "de_DE.UTF-8" };

function runBash(script: string, env: NodeJS.ProcessEnv = ENV): { code: number; stdout: string } {
  try {
    return { code: 0, stdout: execFileSync("bash", [script], { env, encoding: "utf8" }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { code: e.status, stdout: e.stdout };
  }
}

describe("a %%bash cell's job script", () => {
  test("runs the cell's script in the cells' directory; start and end marks around it", () => {
    const { script, ctx } = prepare({ mode: "bash", code: "#SBATCH --mem=1G\necho in $(pwd)\n" });
    const r = runBash(script);
    expect(r).toEqual({ code: 0, stdout: `in ${ctx.workDir}\n` });
    const evs = events(ctx.paths.events);
    expect(evs.map((e) => e.type)).toEqual(["start", "end"]);
    expect(evs[0]).toMatchObject({ host: "c3cpu-a1-u1-1", job_id: "4530", python: "" });
    expect(evs[1]).toMatchObject({ status: "ok", exit_code: 0 });
    expect(typeof (evs[1] as { time: number }).time).toBe("number");
  });

  test.each([
    ["exit 3", 3],
    ["set -e\nfalse\necho never", 1],
    ["nosuchcommand_xyz", 127],
  ])("a script that fails (%j): CellScriptFailed with its exit code, then the end mark", (code, exit) => {
    const { script, ctx } = prepare({ mode: "bash", code });
    expect(runBash(script).code).toBe(exit);
    const evs = events(ctx.paths.events);
    expect(evs.map((e) => e.type)).toEqual(["start", "error", "end"]);
    expect(evs[1]).toMatchObject({
      ename: "CellScriptFailed",
      evalue: `the cell's script exited with code ${exit}`,
    });
    expect(evs[2]).toMatchObject({ status: "error", exit_code: exit });
  });

  test("SIGINT to the job's processes (scancel --signal=INT --full): KeyboardInterrupt, end, exit 130", async () => {
    const { script, ctx } = prepare({ mode: "bash", code: "echo ready\nsleep 30\necho never\n" });
    const child = spawn("bash", [script], { env: ENV, detached: true, stdio: ["ignore", "pipe", "ignore"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    process.kill(-child.pid!, "SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(130);
    const evs = events(ctx.paths.events);
    expect(evs.map((e) => e.type)).toEqual(["start", "error", "end"]);
    expect(evs[1]).toMatchObject({ ename: "KeyboardInterrupt" });
    expect(evs[2]).toMatchObject({ status: "error", exit_code: 130 });
  }, 20_000);

  test("SIGTERM (scancel, the time limit): no end mark, so the job's end state tells, never 'ok'", async () => {
    const { script, ctx } = prepare({ mode: "bash", code: "echo ready\nsleep 30\necho never\n" });
    const child = spawn("bash", [script], { env: ENV, detached: true, stdio: ["ignore", "pipe", "ignore"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    process.kill(-child.pid!, "SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(143);
    expect(events(ctx.paths.events).map((e) => e.type)).toEqual(["start"]);
  }, 20_000);

  test("a script that sets its own EXIT trap: no end mark (the server then goes by the job's end state)", () => {
    const { script, ctx } = prepare({ mode: "bash", code: "trap 'echo bye' EXIT\necho hi\n" });
    expect(runBash(script)).toEqual({ code: 0, stdout: "hi\nbye\n" });
    expect(events(ctx.paths.events).map((e) => e.type)).toEqual(["start"]);
  });

  test("a node name with odd characters cannot break the start event", () => {
    const { script, ctx } = prepare({ mode: "bash", code: "true\n" });
    runBash(script, { ...ENV, SLURMD_NODENAME: 'c3"x\\y z', SLURM_JOB_ID: '12"; rm' });
    expect(events(ctx.paths.events)[0]).toMatchObject({ host: "c3_x_y_z", job_id: "12" });
  });

  test("as an array: each task writes its own events, by SLURM_ARRAY_TASK_ID", () => {
    const { script, ctx } = prepare({
      mode: "bash",
      code: "echo task $SLURM_ARRAY_TASK_ID\n",
      array: { spec: "0-3" },
    });
    expect(runBash(script, { ...ENV, SLURM_ARRAY_TASK_ID: "3" }).stdout).toBe("task 3\n");
    const task = join(ctx.paths.code.replace(/\.py$/, ".tasks"), "3.events.jsonl");
    expect(events(task).map((e) => e.type)).toEqual(["start", "end"]);
  });
});

describe("an %%srun cell's job script", () => {
  test("every rank runs the runner; rank 0 with the cell's files, the others with theirs", () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    // python: prints its argv; srun: runs its command once per task, as srun would (SLURM_PROCID).
    writeFileSync(
      join(bin, "python"),
      `#!/usr/bin/python3\nimport json, os, sys\nprint(json.dumps([os.environ["SLURM_PROCID"], sys.argv[1:]]))\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(bin, "srun"),
      `#!/bin/bash\nprintf '%s\\n' "$*" >"$SRUN_ARGS"\nshift; while [ "$1" != bash ]; do shift; done; shift\nfor r in $(seq 0 $((SLURM_NTASKS-1))); do SLURM_PROCID=$r bash "$@"; done\n`,
      { mode: 0o755 },
    );
    chmodSync(join(bin, "srun"), 0o755);
    const { script, ctx } = prepare({ mode: "srun", code: "print(rank)\n" });
    const srunArgs = join(dir, "srun-args");
    const out = execFileSync("bash", [script], {
      env: {
        ...ENV,
        PATH: `${bin}:${process.env.PATH}`,
        SLURM_NTASKS: "3",
        SLURM_CPUS_PER_TASK: "2",
        SRUN_ARGS: srunArgs,
      },
      encoding: "utf8",
    });
    const ranks = join(ctx.paths.code.replace(/\.py$/, ".ranks"));
    expect(readFileSync(join(ranks, "size"), "utf8")).toBe("3\n");
    expect(readFileSync(srunArgs, "utf8")).toMatch(/^--input=none --cpus-per-task=2 bash -c /);
    // Rank 0's output is the job's own (streamed); ranks 1 and 2 wrote theirs aside.
    const [rank, args] = JSON.parse(out) as [string, string[]];
    expect(rank).toBe("0");
    expect(args).toEqual(
      expect.arrayContaining(["--events", ctx.paths.events, "--namespace-out", ctx.namespaceOut!]),
    );
    for (const r of [1, 2]) {
      const [rr, a] = JSON.parse(readFileSync(join(ranks, `${r}.out`), "utf8")) as [string, string[]];
      expect(rr).toBe(String(r));
      expect(a).toEqual(
        expect.arrayContaining([
          "--events",
          join(ranks, `${r}.events.jsonl`),
          "--env-name",
          "rank=SLURM_PROCID",
        ]),
      );
      expect(a).not.toContain("--namespace-out");
    }
  });
});
