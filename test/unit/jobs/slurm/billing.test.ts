/**
 * Service units as Slurm bills them (slurm.conf(5) TRESBillingWeights), checked against what the
 * test cluster's accounting recorded for the same requests (test/fixtures/slurm/sacct-billing-*.txt).
 */
import {
  allocationOf,
  billingOfTres,
  billingRate,
  formatServiceUnits,
  limitSeconds,
  parseBillingWeights,
  serviceUnits,
  type BillingPartition,
} from "../../../../src/jobs/slurm/billing";
import { parseSacct } from "../../../../src/jobs/slurm/parse-sacct";
import { parseScontrolPartitions } from "../../../../src/jobs/slurm/parse-cluster";
import { SlurmOutputError } from "../../../../src/jobs/slurm/slurm-time";
import type { SbatchPair } from "../../../../src/magics/types";
import { fixture } from "./scripted-transport";

const PARTS = new Map(
  parseScontrolPartitions(fixture("scontrol-show-partition.txt")).map((p) => [p.name, p]),
);
const part = (name: string): BillingPartition => PARTS.get(name)!;
const rateOf = (pairs: SbatchPair[], name: string, maxTres = false) =>
  billingRate(allocationOf(pairs, part(name)), part(name).billingWeights, maxTres);

describe("parseBillingWeights", () => {
  test.each<[string, [string, number][]]>([
    ["CPU=1.0", [["cpu", 1]]],
    [
      "CPU=1.0,Mem=0.25G,GRES/gpu=2.0",
      [
        ["cpu", 1],
        ["mem", 0.25 / 1024],
        ["gres/gpu", 2],
      ],
    ],
    ["Mem=.25", [["mem", 0.25]]],
    ["Mem=1T", [["mem", 1 / 1024 ** 2]]],
    [
      "GRES/gpu:a100=108.2,License/matlab=3",
      [
        ["gres/gpu:a100", 108.2],
        ["license/matlab", 3],
      ],
    ],
    ["CPU=-1", [["cpu", -1]]],
    ["", []],
  ])("%j", (text, weights) => {
    expect([...parseBillingWeights(text)]).toEqual(weights);
  });
  test.each(["CPU", "CPU=x", "=1", "CPU=1X"])("refuses %j", (text) => {
    expect(() => parseBillingWeights(text)).toThrow(SlurmOutputError);
  });
});

describe("billing of the test cluster's requests = what its accounting recorded", () => {
  test("aa100, 2 CPUs and 2 GPUs: 2 + 2 × 108.2 = 218.4 → 218 (sacct-billing-gpu.txt)", () => {
    const recorded = parseSacct(fixture("sacct-billing-gpu.txt")).get("1441")!.billing;
    expect(
      rateOf(
        [
          ["--partition", "aa100"],
          ["--gres", "gpu:2"],
          ["--cpus-per-task", "2"],
        ],
        "aa100",
      ),
    ).toBe(recorded);
    expect(recorded).toBe(218);
  });
  test("amem, 3 CPUs and 7G: 3 + 7 × 0.25 = 4.75 → 4 (sacct-billing-amem.txt)", () => {
    const recorded = parseSacct(fixture("sacct-billing-amem.txt")).get("1442")!.billing;
    expect(
      rateOf(
        [
          ["--cpus-per-task", "3"],
          ["--mem", "7G"],
        ],
        "amem",
      ),
    ).toBe(recorded);
    expect(recorded).toBe(4);
  });
  test("acpu, 4 CPUs (sacct-running-pending.txt job 20)", () => {
    expect(
      rateOf(
        [
          ["--cpus-per-task", "4"],
          ["--mem", "2G"],
        ],
        "acpu",
      ),
    ).toBe(parseSacct(fixture("sacct-running-pending.txt")).get("20")!.billing);
  });
  test("amem without --mem: the partition's DefMemPerCPU is the memory (1 CPU, 2000M → 1.49 → 1)", () => {
    expect(rateOf([], "amem")).toBe(1);
    expect(rateOf([["--cpus-per-task", "8"]], "amem")).toBe(11); // 8 + 16000M × 0.25/G = 11.9
  });
});

describe("allocationOf", () => {
  const p: BillingPartition = {
    billingWeights: null,
    defMemPerCpuMb: 3800,
    maxNodeCpus: 64,
    maxNodeMemoryMb: 250000,
    defaultTimeSeconds: 3600,
  };
  test.each<[string, SbatchPair[], object]>([
    ["nothing asked: 1 CPU, the default memory", [], { nodes: 1, cpus: 1, memoryMb: 3800, gpus: 0 }],
    [
      "tasks × CPUs per task",
      [
        ["--ntasks", "4"],
        ["--cpus-per-task", "2"],
      ],
      { cpus: 8, memoryMb: 30400 },
    ],
    [
      "--mem per node × nodes",
      [
        ["--nodes", "2"],
        ["--mem", "10G"],
      ],
      { nodes: 2, memoryMb: 20480 },
    ],
    [
      "--mem-per-cpu × CPUs",
      [
        ["--cpus-per-task", "4"],
        ["--mem-per-cpu", "2G"],
      ],
      { memoryMb: 8192 },
    ],
    ["--mem=0: the whole node", [["--mem", "0"]], { memoryMb: 250000 }],
    ["--exclusive: every CPU of the node", [["--exclusive"]], { cpus: 64 }],
    [
      "--gres gpu:2 per node",
      [
        ["--nodes", "2"],
        ["--gres", "gpu:2"],
      ],
      { gpus: 4 },
    ],
    ["--gres gpu:a100:1 names the type", [["--gres", "gpu:a100:1"]], { gpus: 1, gpuType: "a100" }],
    [
      "--gpus is per job",
      [
        ["--nodes", "2"],
        ["--gpus", "3"],
      ],
      { gpus: 3 },
    ],
    ["--gpus a100:2", [["--gpus", "a100:2"]], { gpus: 2, gpuType: "a100" }],
    [
      "--gpus-per-node",
      [
        ["--nodes", "3"],
        ["--gpus-per-node", "1"],
      ],
      { gpus: 3 },
    ],
  ])("%s", (_what, pairs, expected) => {
    expect(allocationOf(pairs, p)).toMatchObject(expected);
  });
  test("no memory asked and no default: unknown", () => {
    expect(allocationOf([], { ...p, defMemPerCpuMb: null }).memoryMb).toBeUndefined();
  });
});

describe("billingRate", () => {
  const alloc = { nodes: 1, cpus: 1, memoryMb: 8192, gpus: 0 };
  const w = parseBillingWeights("CPU=1.0,Mem=0.25G,GRES/gpu=2.0");
  test("the man page's example: 1 CPU, 8 GB → 1 + 2 = 3", () => expect(billingRate(alloc, w)).toBe(3));
  test("PriorityFlags=MAX_TRES: the largest → 2", () => expect(billingRate(alloc, w, true)).toBe(2));
  test("no weights: the CPUs", () => expect(billingRate({ ...alloc, cpus: 6 }, null)).toBe(6));
  test("typed GPU weights count when the request names the type", () => {
    const typed = parseBillingWeights("CPU=1,GRES/gpu:a100=100");
    expect(billingRate({ nodes: 1, cpus: 1, gpus: 1, gpuType: "a100" }, typed)).toBe(101);
    expect(billingRate({ nodes: 1, cpus: 1, gpus: 1 }, typed)).toBe(1);
  });
  test("a memory weight with the memory unknown: no estimate", () => {
    expect(billingRate({ nodes: 1, cpus: 1, gpus: 0 }, w)).toBeUndefined();
  });
  test("a float just under a whole number is not cut a unit short", () => {
    expect(billingRate({ nodes: 1, cpus: 3, gpus: 0 }, parseBillingWeights("CPU=0.1"))).toBe(0);
    expect(billingRate({ nodes: 1, cpus: 30, gpus: 0 }, parseBillingWeights("CPU=0.1"))).toBe(3);
  });
});

describe("time limits and service units", () => {
  test("--time, else the partition's DefaultTime", () => {
    expect(limitSeconds([["--time", "0:30:00"]], part("acpu"))).toBe(1800);
    expect(limitSeconds([], part("atesting"))).toBe(1800);
    expect(limitSeconds([], part("acpu"))).toBe(3600);
  });
  test("SUs = billing × hours", () => {
    expect(serviceUnits(109, 600)).toBeCloseTo(18.1667, 4);
    expect(serviceUnits(1, 6)).toBeCloseTo(0.001667, 5);
  });
  test.each([
    [0, "0 SU"],
    [0.001, "<0.01 SU"],
    [0.02, "0.02 SU"],
    [0.5, "0.5 SU"],
    [1, "1 SU"],
    [18.1667, "18.2 SU"],
    [20, "20 SU"],
    [218, "218 SU"],
    [2616.4, "2616 SU"],
  ])("%d → %s", (su, text) => expect(formatServiceUnits(su)).toBe(text));
  test("billing= of AllocTRES", () => {
    expect(billingOfTres("billing=218,cpu=2,gres/gpu=2,mem=2000M,node=1")).toBe(218);
    expect(billingOfTres("cpu=2,mem=2000M")).toBeUndefined();
    expect(billingOfTres("")).toBeUndefined();
  });
});
