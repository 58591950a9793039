/** Whether a cell's own options fit a held allocation, and the reason in words when they do not. */
import { fitCell, gpuRequest, shapeOf, type AllocationShape } from "../../../../src/jobs/allocation/fit";
import type { SbatchPair } from "../../../../src/jobs/job-script";

const ASKED: SbatchPair[] = [
  ["--partition", "aa100"],
  ["--gres", "gpu:a100:1"],
  ["--mem", "16G"],
  ["--cpus-per-task", "4"],
  ["--account", "ucb-general"],
  ["--time", "2:00:00"],
];
const SHAPE: AllocationShape = shapeOf("123", ASKED, undefined, 3600);

describe("fitCell", () => {
  const fits: [string, SbatchPair[]][] = [
    ["no options of its own", []],
    ["less memory", [["--mem", "8G"]]],
    ["the same memory", [["--mem", "16384M"]]],
    ["fewer CPUs", [["--cpus-per-task", "2"]]],
    ["the same partition", [["--partition", "aa100"]]],
    ["a GPU of the type it has", [["--gres", "gpu:a100:1"]]],
    ["a GPU asked with --gpus", [["--gpus", "1"]]],
    ["a shorter time limit than is left", [["--time", "0:30:00"]]],
    ["the account it charges", [["--account", "ucb-general"]]],
    [
      "one node, one task",
      [
        ["--nodes", "1"],
        ["--ntasks", "1"],
      ],
    ],
    [
      "memory per CPU within its memory",
      [
        ["--mem-per-cpu", "4G"],
        ["--cpus-per-task", "4"],
      ],
    ],
    ["the allocation's own options repeated (a profile's cells)", ASKED],
  ];
  test.each(fits)("fits: %s", (_what, own) => {
    expect(fitCell(own, SHAPE)).toEqual({ fits: true });
  });

  const misfits: [string, SbatchPair[], string][] = [
    ["more memory", [["--mem", "64G"]], "it asks for 64G of memory; allocation 123 has 16G"],
    [
      "more memory per CPU",
      [
        ["--mem-per-cpu", "8G"],
        ["--cpus-per-task", "4"],
      ],
      "it asks for 32G of memory; allocation 123 has 16G",
    ],
    ["more CPUs", [["--cpus-per-task", "8"]], "it asks for 8 CPUs; allocation 123 has 4"],
    [
      "another partition",
      [["--partition", "amem"]],
      "it asks for partition amem; allocation 123 is on aa100",
    ],
    ["more GPUs", [["--gres", "gpu:2"]], "it asks for 2 GPUs; allocation 123 has 1"],
    ["another GPU type", [["--gres", "gpu:l40:1"]], "it asks for l40 GPUs; allocation 123 has a100"],
    [
      "more time than is left",
      [["--time", "4:00:00"]],
      "it asks for --time 4:00:00; allocation 123 has 1:00:00 left",
    ],
    [
      "another account",
      [["--account", "amc-general"]],
      "it is charged to amc-general; allocation 123 to ucb-general",
    ],
    ["a QoS", [["--qos", "long"]], "it asks for QoS long; allocation 123 has the default"],
    ["several nodes", [["--nodes", "2"]], "it asks for 2 nodes; allocation 123 runs cells in one process"],
    ["several tasks", [["--ntasks", "4"]], "it asks for 4 tasks; allocation 123 runs cells in one process"],
    [
      "a start time",
      [["--begin", "now+1hour"]],
      "it asks for a start time (--begin), which only a job of its own has",
    ],
    ["mail", [["--mail-type", "END"]], "it asks for mail (--mail-type), which only a job of its own has"],
    ["a node of its own", [["--exclusive"]], "it asks for a node of its own; allocation 123 shares its node"],
    [
      "a whole node's memory",
      [["--mem", "0"]],
      "it asks for a whole node's memory (--mem 0); allocation 123 has 16G",
    ],
    [
      "node features",
      [["--constraint", "ib"]],
      "it asks for nodes with ib; allocation 123 was not asked for them",
    ],
  ];
  test.each(misfits)("does not fit: %s", (_what, own, why) => {
    expect(fitCell(own, SHAPE)).toEqual({ fits: false, why });
  });

  test("an allocation with no GPU says it has none", () => {
    const cpu = shapeOf("7", [["--partition", "acpu"]]);
    expect(fitCell([["--gres", "gpu:1"]], cpu)).toEqual({
      fits: false,
      why: "it asks for a GPU; allocation 7 has none",
    });
  });

  test("no time check while the allocation waits in the queue (its end is unknown)", () => {
    expect(fitCell([["--time", "9:00:00"]], shapeOf("8", ASKED))).toEqual({ fits: true });
  });
});

describe("shapeOf", () => {
  test("what squeue says it got wins over what was asked", () => {
    const s = shapeOf("9", [["--mem", "1G"]], {
      jobId: "9",
      state: "RUNNING",
      partition: "aa100",
      cpus: 2,
      memory: "15.6G",
      gpus: 1,
    });
    expect(s).toMatchObject({ partition: "aa100", cpus: 2, memMB: 15974, gpus: 1 });
  });
});

describe("gpuRequest", () => {
  const cases: [SbatchPair[], ReturnType<typeof gpuRequest>][] = [
    [[["--gres", "gpu:1"]], { count: 1 }],
    [[["--gres", "gpu:a100:2"]], { count: 2, type: "a100" }],
    [[["--gres", "gpu"]], { count: 1 }],
    [[["--gres", "gpu:a100"]], { count: 1, type: "a100" }],
    [[["--gres", "tmpfs:10G,gpu:3"]], { count: 3 }],
    [[["--gpus", "a100:2"]], { count: 2, type: "a100" }],
    [[["--gpus-per-node", "2"]], { count: 2 }],
    [[["--mem", "1G"]], undefined],
  ];
  test.each(cases)("%j → %j", (pairs, want) => {
    expect(gpuRequest(pairs)).toEqual(want);
  });
});
