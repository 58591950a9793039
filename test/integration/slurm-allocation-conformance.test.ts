/**
 * jupyter_kernel_test's KernelTests (ipykernel's samples and ours) with every cell inside a held
 * allocation on the test cluster: each test class's kernel runs `%slurm allocate` first (over SSH,
 * as the cluster's user, status lines off as for every strict protocol client), and the report
 * says where the cells ran before the first test and after the last — the same job and the same
 * Python process, so no cell went out as a job of its own.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { expectWholeSuitePassed, runConformance } from "../helpers/conformance";
import { installKernelSpec, isolatedEnv, type IsolatedEnv } from "../helpers/env";
import {
  cancelJobsUnder,
  requireCluster,
  slurmConfig,
  sshClusterConfig,
  type ClusterEnv,
} from "../helpers/slurm";

let cluster: ClusterEnv;
let iso: IsolatedEnv;
let workDir: string;

beforeAll(() => {
  cluster = requireCluster();
  const name = `ak-conformance-alloc-${Date.now()}-${randomBytes(3).toString("hex")}`;
  workDir = join(cluster.scratch, name);
  const yaml = slurmConfig(cluster, `/scratch/alpine/$USER/${name}`, sshClusterConfig(cluster));
  iso = isolatedEnv(yaml.replace("slurm:\n", "slurm:\n  status_line: false\n"));
  iso.env.ALPINE_CONFORMANCE_SETUP_CELL = `%slurm allocate -p ${cluster.gpuPartition} --time 0:15:00 --mem 1G`;
  installKernelSpec(iso.env);
});

afterAll(() => {
  cancelJobsUnder(cluster, workDir);
  iso?.cleanup();
  rmSync(workDir, { recursive: true, force: true });
});

test("KernelTests pass whole inside an allocation, every cell in the same live Python", () => {
  const report = runConformance(iso.env, { timeoutMs: 420_000 });
  expectWholeSuitePassed(report);
  const where = report.where ?? {};
  expect(Object.keys(where).sort()).toEqual(["AlpineKernelTests", "IPyKernelSampleTests"]);
  const holders = Object.values(where).map(({ before, after }) => {
    expect(before[0]).toMatch(/^\d+$/);
    expect(after).toEqual(before);
    return before[0];
  });
  // Each kernel (notebook) held an allocation of its own.
  expect(new Set(holders).size).toBe(2);
}, 480_000);
