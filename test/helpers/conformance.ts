/**
 * Runs test/python/test_conformance.py (Debian's jupyter_kernel_test with ipykernel's samples and
 * ours) against the installed "alpine" kernelspec and checks what it reports: every test of
 * KernelTests passed for both sample sets, nothing skipped, nothing failed.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DEBIAN_PYTHON, ROOT, requireProgram } from "./env";

interface Outcome {
  id: string;
  outcome: "ok" | "fail" | "error" | "skip";
  detail: string;
}
interface Report {
  results: Outcome[];
  ran: number;
  seconds: number;
  /** With ALPINE_CONFORMANCE_SETUP_CELL: per test class, [SLURM_JOB_ID, pid] after the setup cell and after the last test. */
  where?: Record<string, { before: [string, string]; after?: [string, string] }>;
}

/** Every test of KernelTests 0.4.5, and the one the kernel adds. */
const KERNEL_TESTS = [
  "test_kernel_info",
  "test_execute_stdout",
  "test_execute_stderr",
  "test_completion",
  "test_is_complete",
  "test_pager",
  "test_error",
  "test_execute_result",
  "test_display_data",
  "test_history",
  "test_inspect",
  "test_clear_output",
];

export type ConformanceReport = Report;

export function runConformance(
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Report {
  requireProgram(DEBIAN_PYTHON, "Debian's python3");
  requireProgram(
    "/usr/lib/python3/dist-packages/jupyter_kernel_test/__init__.py",
    "apt-get install python3-jupyter-kernel-test",
  );
  const run = spawnSync(DEBIAN_PYTHON, [join(ROOT, "test", "python", "test_conformance.py")], {
    env,
    cwd: opts.cwd,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 240_000,
  });
  if (run.error) throw run.error;
  try {
    return JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(
      `test_conformance.py reported nothing (exit ${run.status}):\n${run.stdout}\n${run.stderr}`,
    );
  }
}

/** Skipped by the samples' own choice: ipykernel's declare only the tail and search history operations. */
const SAMPLES_SKIP = ["IPyKernelSampleTests.test_history (hist_access_type='range')"];

export function expectWholeSuitePassed(report: Report): void {
  // Failures first, with unittest's tracebacks, so a broken kernel says why.
  const failures = report.results.filter(
    (r) => r.outcome !== "ok" && !(r.outcome === "skip" && SAMPLES_SKIP.includes(r.id)),
  );
  expect(failures.map((f) => `${f.id}: ${f.outcome}\n${f.detail}`).join("\n")).toBe("");
  const ran = (cls: string) => [
    ...new Set(
      report.results
        .filter((r) => r.id.startsWith(`${cls}.`))
        .map((r) => /\.(test_\w+)/.exec(r.id)?.[1] ?? r.id),
    ),
  ];
  expect(ran("IPyKernelSampleTests").sort()).toEqual([...KERNEL_TESTS].sort());
  expect(ran("AlpineKernelTests").sort()).toEqual(
    [...KERNEL_TESTS, "test_namespace_carries_between_cells"].sort(),
  );
  expect(report.ran).toBe(KERNEL_TESTS.length * 2 + 1);
}
