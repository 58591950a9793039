/**
 * Completion and Shift-Tab latency, warm, as Jupyter sees it: Debian's jupyter_client sends the
 * cases of test/helpers/introspection-cases.ts (after the same setup cells) to Debian's ipykernel
 * (the baseline) and to alpine-kernel (local backend, cells and the introspection helper run by
 * the same Debian Python), in alternating rounds on the same machine. Each case is asked
 * BENCH_REPEAT times per round. Target: alpine-kernel's completion p95 ≤ 200 ms once warm.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { CASES, askKernel, percentiles, type KernelAnswers } from "../test/helpers/introspection-cases";
import { CLI, isolatedEnv } from "./lib/harness";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
/** The helper's CPU priority (completion.nice; 19 by default). */
const NICE = Number(process.env.BENCH_NICE ?? 19);

function times(runs: KernelAnswers[], kind: "complete" | "inspect"): number[] {
  return runs.flatMap((r) => r.answers.filter((_a, i) => CASES[i]!.kind === kind).flatMap((a) => a.ms));
}

function main(): void {
  const { env } = isolatedEnv(
    `backend: local\nenvironment:\n  python: /usr/bin/python3\ncompletion:\n  nice: ${NICE}\n`,
  );
  const jupyterEnv = {
    ...env,
    JUPYTER_PATH: "",
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    JUPYTER_PLATFORM_DIRS: "1",
  };
  execFileSync(process.execPath, [CLI, "install", "--user"], { env: jupyterEnv, stdio: "pipe" });
  const runs: Record<"python3" | "alpine", KernelAnswers[]> = { python3: [], alpine: [] };
  for (let round = 0; round < ROUNDS; round++)
    for (const kernel of ["python3", "alpine"] as const)
      runs[kernel].push(askKernel(kernel, jupyterEnv, CASES, REPEAT));
  execFileSync(process.execPath, [CLI, "stop"], { env: jupyterEnv, stdio: "ignore" });

  const rows: string[] = [];
  for (const kind of ["complete", "inspect"] as const) {
    const base = percentiles(times(runs.python3, kind));
    const ours = percentiles(times(runs.alpine, kind));
    const n = times(runs.alpine, kind).length;
    rows.push(
      `| ${kind}: ipykernel (Debian), baseline | ${n} | ${base.p50.toFixed(1)} | ${base.p95.toFixed(1)} | 1.00× / 1.00× |`,
    );
    rows.push(
      `| ${kind}: alpine-kernel (helper, local backend) | ${n} | ${ours.p50.toFixed(1)} | ${ours.p95.toFixed(1)} | ${(ours.p50 / base.p50).toFixed(2)}× / ${(ours.p95 / base.p95).toFixed(2)}× |`,
    );
  }
  const slowest = CASES.map((c, i) => ({
    code: c.code,
    kind: c.kind,
    ours: percentiles(runs.alpine.flatMap((r) => r.answers[i]!.ms)).p95,
    base: percentiles(runs.python3.flatMap((r) => r.answers[i]!.ms)).p95,
  }))
    .sort((a, b) => b.ours - a.ours)
    .slice(0, 5);
  console.log(`\n## Completion latency, warm (rounds=${ROUNDS}, repeat=${REPEAT}, helper nice ${NICE})\n`);
  console.log("| case | requests | p50 ms | p95 ms | ratio p50 / p95 |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  console.log("\nslowest cases for alpine-kernel (p95 ms, ours vs ipykernel):");
  for (const s of slowest)
    console.log(`  ${s.kind} ${JSON.stringify(s.code)}: ${s.ours.toFixed(1)} vs ${s.base.toFixed(1)}`);
  console.log(
    `ready after setup: alpine-kernel ${runs.alpine.map((r) => r.ready_s.toFixed(2)).join(", ")} s`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} (${cpus().length} CPUs)`,
  );
}

main();
