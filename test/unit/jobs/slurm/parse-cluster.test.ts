/** Cluster discovery parsers against real scontrol/sinfo/sacctmgr output (test/fixtures/slurm/README.md). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../../../src/errors";
import type { PartitionInfo } from "../../../../src/jobs/slurm/cluster-info";
import {
  SCONTROL_CONFIG_ARGV,
  SCONTROL_PARTITIONS_ARGV,
  SINFO_NODE_SIZES_ARGV,
  parseAssociations,
  parseClusterInfo,
  parseDefaultAccount,
  parseArrayLimits,
  parseMaxTres,
  parseScontrolPartitions,
  parseSinfoNodes,
  sacctmgrUserArgv,
} from "../../../../src/jobs/slurm/parse-cluster";
import { SlurmOutputError } from "../../../../src/jobs/slurm/slurm-time";

const fixture = (name: string): string =>
  readFileSync(join(__dirname, "../../../fixtures/slurm", name), "utf8");

const part = (name: string, over: Partial<PartitionInfo>): PartitionInfo => ({
  name,
  isDefault: false,
  maxTimeSeconds: 86400,
  defaultTimeSeconds: 3600,
  gpus: 0,
  maxNodeMemoryMb: 16000,
  maxNodeCpus: 8,
  allowQos: [],
  state: "UP",
  billingWeights: null,
  defMemPerCpuMb: null,
  ...over,
});

const cpuOnly = new Map([["cpu", 1]]);

/** The test cluster, as discovery sees it. */
const PARTITIONS: PartitionInfo[] = [
  part("acpu", {
    nodes: "c3cpu-a1-u1-1",
    isDefault: true,
    billingWeights: cpuOnly,
    defMemPerCpuMb: 1000,
  }),
  part("amem", {
    nodes: "c3cpu-a1-u1-1",
    maxTimeSeconds: 7 * 86400,
    billingWeights: new Map([
      ["cpu", 1],
      ["mem", 0.25 / 1024],
    ]),
    defMemPerCpuMb: 2000,
  }),
  part("aa100", {
    nodes: "c3gpu-a1-u1-1",
    gpus: 2,
    billingWeights: new Map([
      ["cpu", 1],
      ["gres/gpu", 108.2],
    ]),
    defMemPerCpuMb: 1000,
  }),
  part("acompile", {
    nodes: "c3cpu-a1-u1-1",
    maxTimeSeconds: 12 * 3600,
    billingWeights: cpuOnly,
    defMemPerCpuMb: 1000,
  }),
  part("atesting", {
    nodes: "c3cpu-a1-u1-1",
    maxTimeSeconds: 3600,
    defaultTimeSeconds: 1800,
    billingWeights: cpuOnly,
    defMemPerCpuMb: 1000,
  }),
];

test("the discovery commands", () => {
  expect(SCONTROL_PARTITIONS_ARGV).toEqual(["scontrol", "--oneliner", "show", "partition"]);
  expect(SCONTROL_CONFIG_ARGV).toEqual(["scontrol", "show", "config"]);
  expect(SINFO_NODE_SIZES_ARGV).toEqual(["sinfo", "--noheader", "--exact", "--format=%R|%c|%m"]);
  expect(sacctmgrUserArgv("alpineuser")).toEqual([
    "sacctmgr",
    "--parsable2",
    "--noheader",
    "show",
    "user",
    "alpineuser",
    "withassoc",
    "format=user,defaultaccount,account,partition,qos",
  ]);
});

test.each(["", "a b", "x;rm -rf", "-u"])("sacctmgrUserArgv refuses the user name %j", (user) => {
  expect(() => sacctmgrUserArgv(user)).toThrow(InputError);
});

describe("parseScontrolPartitions", () => {
  test("scontrol-show-partition.txt: one-node partitions know their node size from TRES", () => {
    expect(parseScontrolPartitions(fixture("scontrol-show-partition.txt"))).toEqual(PARTITIONS);
  });

  test("with sinfo's node sizes", () => {
    const sizes = new Map([["acpu", { cpus: 64, memoryMb: 256000 }]]);
    const [acpu, amem] = parseScontrolPartitions(fixture("scontrol-show-partition.txt"), sizes);
    expect(acpu).toMatchObject({ maxNodeCpus: 64, maxNodeMemoryMb: 256000 });
    expect(amem).toMatchObject({ maxNodeCpus: 8, maxNodeMemoryMb: 16000 });
  });

  // Alpine-like lines (synthetic): many nodes, QoS lists, per-node caps, typed GPUs.
  const line = (kv: string): string =>
    `PartitionName=x AllowGroups=ALL AllowQos=ALL Default=NO DefaultTime=NONE MaxTime=UNLIMITED State=UP TotalCPUs=640 TotalNodes=10 MaxMemPerNode=UNLIMITED MaxCPUsPerNode=UNLIMITED TRES=cpu=640,mem=2500000M,node=10 ${kv}`;
  test.each<
    [string, string, Partial<PartitionInfo>, Map<string, { cpus: number; memoryMb: number }> | undefined]
  >([
    ["no limits", "", { maxTimeSeconds: null, defaultTimeSeconds: null }, undefined],
    ["many nodes: sizes unknown without sinfo", "", { maxNodeCpus: null, maxNodeMemoryMb: null }, undefined],
    [
      "many nodes with sinfo",
      "",
      { maxNodeCpus: 64, maxNodeMemoryMb: 250000 },
      new Map([["x", { cpus: 64, memoryMb: 250000 }]]),
    ],
    [
      "MaxMemPerNode caps the node",
      "MaxMemPerNode=100000",
      { maxNodeMemoryMb: 100000 },
      new Map([["x", { cpus: 64, memoryMb: 250000 }]]),
    ],
    [
      "MaxCPUsPerNode caps the node",
      "MaxCPUsPerNode=32",
      { maxNodeCpus: 32 },
      new Map([["x", { cpus: 64, memoryMb: 250000 }]]),
    ],
    ["a cap alone is not a size", "MaxMemPerNode=100000", { maxNodeMemoryMb: null }, undefined],
    [
      "AllowQos list",
      "AllowQos=gpu-normal,gpu-testing",
      { allowQos: ["gpu-normal", "gpu-testing"] },
      undefined,
    ],
    ["typed GPUs", "TRES=cpu=64,gres/gpu:a100=3,gres/gpu:l40=3", { gpus: 6 }, undefined],
    ["untyped and typed GPUs", "TRES=cpu=64,gres/gpu=6,gres/gpu:a100=6", { gpus: 6 }, undefined],
    ["the default partition", "Default=YES", { isDefault: true }, undefined],
    ["a down partition", "State=DOWN", { state: "DOWN" }, undefined],
    ["no billing weights: billed by CPUs", "", { billingWeights: null, defMemPerCpuMb: null }, undefined],
    [
      "billing weights, memory per GB",
      "TRESBillingWeights=CPU=1.0,Mem=0.25G,GRES/gpu:a100=108.2 DefMemPerCPU=3800",
      {
        billingWeights: new Map([
          ["cpu", 1],
          ["mem", 0.25 / 1024],
          ["gres/gpu:a100", 108.2],
        ]),
        defMemPerCpuMb: 3800,
      },
      undefined,
    ],
  ])("%s", (_what, kv, expected, sizes) => {
    const [p] = parseScontrolPartitions(line(kv), sizes);
    expect(p).toMatchObject({ name: "x", ...expected });
  });

  test.each([
    ["a line without PartitionName", "AllowGroups=ALL Default=NO"],
    ["an unreadable MaxTime", "PartitionName=x MaxTime=forever"],
    ["unreadable billing weights", "PartitionName=x TRESBillingWeights=CPU=lots"],
  ])("refuses %s", (_what, text) => {
    expect(() => parseScontrolPartitions(text)).toThrow(SlurmOutputError);
  });
});

describe("parseSinfoNodes", () => {
  test("sinfo-node-sizes.txt", () => {
    const sizes = parseSinfoNodes(fixture("sinfo-node-sizes.txt"));
    expect([...sizes.keys()]).toEqual(["acpu", "amem", "aa100", "acompile", "atesting"]);
    for (const size of sizes.values()) expect(size).toEqual({ cpus: 8, memoryMb: 16000 });
  });

  test("a mixed partition (synthetic): the largest of each, `+` read as its number", () => {
    const sizes = parseSinfoNodes("amem|48|1000000\namem|64|2000000\nacpu|32+|128000+\n");
    expect(sizes.get("amem")).toEqual({ cpus: 64, memoryMb: 2000000 });
    expect(sizes.get("acpu")).toEqual({ cpus: 32, memoryMb: 128000 });
  });

  test("refuses another format (sinfo-partitions.txt)", () => {
    expect(() => parseSinfoNodes(fixture("sinfo-partitions.txt"))).toThrow(SlurmOutputError);
  });
});

describe("associations and the default account", () => {
  const assocs = [
    { account: "ucb-general", partition: "", qos: ["normal"] },
    { account: "amc-general", partition: "", qos: ["normal"] },
  ];
  test.each(["sacctmgr-assoc.txt", "sacctmgr-user-withassoc.txt"])("parseAssociations(%s)", (file) => {
    expect(parseAssociations(fixture(file))).toEqual(assocs);
  });

  test("QoS lists and partition-specific associations (synthetic)", () => {
    expect(parseAssociations("maya|amc-general|amc-general|aa100|gpu-normal,gpu-testing\n")).toEqual([
      { account: "amc-general", partition: "aa100", qos: ["gpu-normal", "gpu-testing"] },
    ]);
  });

  test.each(["sacctmgr-user.txt", "sacctmgr-user-withassoc.txt"])("parseDefaultAccount(%s)", (file) => {
    expect(parseDefaultAccount(fixture(file))).toBe("ucb-general");
  });

  test("a user sacctmgr does not know: nothing", () => {
    expect(parseDefaultAccount("")).toBeUndefined();
    expect(parseAssociations("")).toEqual([]);
  });

  test.each([
    ["parseAssociations", () => parseAssociations(fixture("sacctmgr-assoc-long.txt"))],
    ["parseDefaultAccount", () => parseDefaultAccount("a|b|c")],
  ])("%s refuses another format", (_what, f) => {
    expect(f).toThrow(SlurmOutputError);
  });
});

describe("parseMaxTres", () => {
  test("scontrol-show-config.txt (priority/basic: no PriorityFlags line): billing is a sum", () => {
    expect(parseMaxTres(fixture("scontrol-show-config.txt"))).toBe(false);
  });
  test.each([
    ["PriorityFlags           = MAX_TRES", true],
    ["PriorityFlags           = SMALL_RELATIVE_TO_TIME,MAX_TRES,NO_FAIR_TREE", true],
    ["PriorityFlags           = ACCRUE_ALWAYS", false],
    ["PriorityFlags           = ", false],
  ])("%j (synthetic) → %s", (line, maxTres) => {
    expect(parseMaxTres(`PriorityType            = priority/multifactor\n${line}\nProctrackType = x\n`)).toBe(
      maxTres,
    );
  });
});

describe("parseArrayLimits", () => {
  test("scontrol-show-config.txt: MaxArraySize 1001, SchedulerParameters without max_array_tasks", () => {
    expect(parseArrayLimits(fixture("scontrol-show-config.txt"))).toEqual({ maxArraySize: 1001 });
  });
  test.each([
    [
      "MaxArraySize            = 40001\nSchedulerParameters     = bf_continue,max_array_tasks=5000",
      { maxArraySize: 40001, maxArrayTasks: 5000 },
    ],
    ["SchedulerParameters     = max_array_tasks=200,bf_interval=30", { maxArrayTasks: 200 }],
    ["SchedulerParameters     = bf_max_array_tasks=9", {}],
    ["MaxArraySize            = (null)", {}],
    ["", {}],
  ])("%j (synthetic) → %j", (text, limits) => {
    expect(parseArrayLimits(text)).toEqual(limits);
  });
});

test("parseClusterInfo from the four discovery outputs", () => {
  const info = parseClusterInfo(
    {
      partitions: fixture("scontrol-show-partition.txt"),
      nodeSizes: fixture("sinfo-node-sizes.txt"),
      user: fixture("sacctmgr-user-withassoc.txt"),
      config: fixture("scontrol-show-config.txt"),
    },
    1234,
  );
  expect(info).toEqual({
    partitions: PARTITIONS,
    associations: parseAssociations(fixture("sacctmgr-assoc.txt")),
    defaultAccount: "ucb-general",
    maxArraySize: 1001,
    discoveredAt: 1234,
  });
});
