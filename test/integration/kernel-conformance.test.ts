/**
 * Debian's jupyter_kernel_test (the Jupyter project's conformance suite) against the installed
 * "alpine" kernelspec: jupyter_client launches the ZMQ bridge, which starts a server on the local
 * backend; every message is validated against the v5 message spec. See test/python/test_conformance.py
 * for the samples; the only test allowed to skip is the pager (the kernel sends no page payloads).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import {
  DEBIAN_PYTHON,
  ROOT,
  installKernelSpec,
  isolatedEnv,
  requireProgram,
  type IsolatedEnv,
} from "../helpers/env";

interface Outcome {
  id: string;
  outcome: "ok" | "fail" | "error" | "skip";
  detail: string;
}
interface Report {
  results: Outcome[];
  ran: number;
  expected_skips: Record<string, string>;
  seconds: number;
}

/** Every test of KernelTests 0.4.5 whose feature the kernel has, plus our own namespace test. */
const MUST_PASS = [
  "test_kernel_info",
  "test_execute_stdout",
  "test_execute_stderr",
  "test_completion",
  "test_is_complete",
  "test_error",
  "test_execute_result",
  "test_display_data",
  "test_history",
  "test_inspect",
  "test_clear_output",
  "test_namespace_carries_between_cells",
];

describe("jupyter_kernel_test conformance", () => {
  let iso: IsolatedEnv;
  beforeAll(() => {
    iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
    installKernelSpec(iso.env);
  });
  afterAll(() => iso.cleanup());

  test("KernelTests pass for every feature the kernel has", () => {
    requireProgram(DEBIAN_PYTHON, "Debian's python3");
    requireProgram(
      "/usr/lib/python3/dist-packages/jupyter_kernel_test/__init__.py",
      "apt-get install python3-jupyter-kernel-test",
    );
    const run = spawnSync(DEBIAN_PYTHON, [join(ROOT, "test", "python", "test_conformance.py")], {
      env: iso.env,
      encoding: "utf8",
      timeout: 120_000,
    });
    if (run.error) throw run.error;
    let report: Report;
    try {
      report = JSON.parse(run.stdout) as Report;
    } catch {
      throw new Error(
        `test_conformance.py reported nothing (exit ${run.status}):\n${run.stdout}\n${run.stderr}`,
      );
    }
    const byName = new Map<string, Outcome[]>();
    for (const r of report.results) {
      const name = /\.(test_\w+)/.exec(r.id)?.[1] ?? r.id;
      byName.set(name, [...(byName.get(name) ?? []), r]);
    }
    // Failures first, with unittest's tracebacks, so a broken kernel says why.
    const failures = report.results.filter((r) => r.outcome === "fail" || r.outcome === "error");
    expect(failures.map((f) => `${f.id}: ${f.outcome}\n${f.detail}`).join("\n")).toBe("");
    for (const name of MUST_PASS) {
      expect([name, (byName.get(name) ?? []).map((r) => r.outcome)]).toEqual([name, ["ok"]]);
    }
    const skipped = report.results
      .filter((r) => r.outcome === "skip")
      .map((r) => /\.(test_\w+)/.exec(r.id)?.[1] ?? r.id);
    expect(skipped.sort()).toEqual(Object.keys(report.expected_skips).sort());
    expect(report.ran).toBe(MUST_PASS.length + skipped.length);
  });
});
