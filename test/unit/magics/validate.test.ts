/** A cell's options against the cluster: the test cluster's real discovery output, and an Alpine-like one. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MagicError, type SbatchPair } from "../../../src/magics/types";
import { validateAgainstCluster } from "../../../src/magics/validate";
import type { ClusterInfo, PartitionInfo } from "../../../src/jobs/slurm/cluster-info";
import { parseClusterInfo } from "../../../src/jobs/slurm/parse-cluster";

const fixture = (name: string): string => readFileSync(join(__dirname, "../../fixtures/slurm", name), "utf8");

/** The test cluster: acpu (default, 1 day), amem (7 days), aa100 (2 GPUs), acompile (12 h), atesting (1 h); 8 CPUs, 16000M nodes. */
const TEST_CLUSTER: ClusterInfo = parseClusterInfo(
  {
    partitions: fixture("scontrol-show-partition.txt"),
    nodeSizes: fixture("sinfo-node-sizes.txt"),
    user: fixture("sacctmgr-user-withassoc.txt"),
  },
  0,
);
const RENAMED = { renamedPartitions: { amilan: "acpu", nowhere: "gone" } };

const part = (name: string, over: Partial<PartitionInfo>): PartitionInfo => ({
  name,
  isDefault: false,
  maxTimeSeconds: 86400,
  defaultTimeSeconds: 3600,
  gpus: 0,
  maxNodeMemoryMb: 256000,
  maxNodeCpus: 64,
  allowQos: [],
  state: "UP",
  billingWeights: null,
  defMemPerCpuMb: null,
  ...over,
});

/** Alpine-like (synthetic): QoS per partition, a project account limited to aa100, bigger nodes. */
const ALPINE: ClusterInfo = {
  partitions: [
    part("acpu", { isDefault: true, allowQos: ["cpu-normal", "cpu-long"], maxTimeSeconds: 7 * 86400 }),
    part("amem", {
      allowQos: ["mem-normal"],
      maxTimeSeconds: 7 * 86400,
      maxNodeMemoryMb: 2_000_000,
      maxNodeCpus: 128,
    }),
    part("aa100", { allowQos: ["gpu-normal", "gpu-testing"], gpus: 30, maxNodeCpus: 64 }),
    part("al40", { allowQos: ["gpu-normal"], gpus: 6 }),
  ],
  associations: [
    {
      account: "amc-general",
      partition: "",
      qos: ["cpu-normal", "cpu-long", "mem-normal", "gpu-normal", "gpu-testing"],
    },
    { account: "amc123_asc1", partition: "aa100", qos: ["gpu-normal"] },
  ],
  defaultAccount: "amc-general",
  discoveredAt: 0,
};

describe("validateAgainstCluster accepts what fits", () => {
  test.each<[string, ClusterInfo, SbatchPair[]]>([
    [
      "a GPU cell on aa100",
      TEST_CLUSTER,
      [
        ["--partition", "aa100"],
        ["--gres", "gpu:1"],
        ["--time", "0:30:00"],
        ["--account", "amc-general"],
      ],
    ],
    [
      "all of aa100's GPUs",
      TEST_CLUSTER,
      [
        ["--partition", "aa100"],
        ["--gpus", "2"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "the default partition's own limit",
      TEST_CLUSTER,
      [
        ["--time", "1-00:00:00"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "acompile's limit exactly",
      TEST_CLUSTER,
      [
        ["--partition", "acompile"],
        ["--time", "12:00:00"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "a whole node",
      TEST_CLUSTER,
      [
        ["--mem", "16000M"],
        ["--cpus-per-task", "8"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "--mem=0 (all of the node)",
      TEST_CLUSTER,
      [
        ["--mem", "0"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "memory per CPU that fits",
      TEST_CLUSTER,
      [
        ["--mem-per-cpu", "2000M"],
        ["--cpus-per-task", "8"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "the user's QoS",
      TEST_CLUSTER,
      [
        ["--qos", "normal"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "several partitions: Slurm picks one that fits",
      TEST_CLUSTER,
      [
        ["--partition", "acpu,amem"],
        ["--time", "3-00:00:00"],
        ["--account", "ucb-general"],
      ],
    ],
    [
      "a project account on its partition",
      ALPINE,
      [
        ["--partition", "aa100"],
        ["--account", "amc123_asc1"],
        ["--qos", "gpu-normal"],
      ],
    ],
    [
      "a big-memory cell on amem",
      ALPINE,
      [
        ["--partition", "amem"],
        ["--mem", "1000G"],
        ["--qos", "mem-normal"],
        ["--account", "amc-general"],
      ],
    ],
  ])("%s", (_what, info, sbatch) => {
    expect(validateAgainstCluster(sbatch, info, RENAMED)).toEqual(sbatch);
  });

  test("the default account is added when no --account is given (Alpine refuses jobs without one)", () => {
    expect(validateAgainstCluster([["--mem", "8G"]], TEST_CLUSTER, RENAMED)).toEqual([
      ["--mem", "8G"],
      ["--account", "ucb-general"],
    ]);
    expect(validateAgainstCluster([], ALPINE, RENAMED)).toEqual([["--account", "amc-general"]]);
  });

  test("nothing discovered about accounts: nothing checked, nothing added", () => {
    const bare: ClusterInfo = { ...TEST_CLUSTER, associations: [], defaultAccount: undefined };
    delete bare.defaultAccount;
    const sbatch: SbatchPair[] = [
      ["--account", "anything"],
      ["--qos", "whatever"],
    ];
    expect(validateAgainstCluster(sbatch, bare, RENAMED)).toEqual(sbatch);
  });

  test("the input is not changed", () => {
    const sbatch: SbatchPair[] = [["--mem", "8G"]];
    validateAgainstCluster(sbatch, TEST_CLUSTER, RENAMED);
    expect(sbatch).toEqual([["--mem", "8G"]]);
  });
});

describe("validateAgainstCluster refuses, saying what to do", () => {
  test.each<[string, ClusterInfo, SbatchPair[], string]>([
    // partitions
    [
      "a renamed partition (journey [6])",
      TEST_CLUSTER,
      [["--partition", "amilan"]],
      "no partition 'amilan' — did you mean 'acpu'? (amilan was renamed acpu)",
    ],
    ["a typo", TEST_CLUSTER, [["--partition", "acpuu"]], "no partition 'acpuu' — did you mean 'acpu'?"],
    [
      "another case",
      TEST_CLUSTER,
      [["--partition", "AA100"]],
      "no partition 'AA100' — did you mean 'aa100'?",
    ],
    [
      "a shortened name",
      TEST_CLUSTER,
      [["--partition", "acomp"]],
      "no partition 'acomp' — did you mean 'acompile'?",
    ],
    [
      "a name like none",
      TEST_CLUSTER,
      [["--partition", "nosuch"]],
      "no partition 'nosuch': the partitions are acpu, amem, aa100, acompile, atesting (default acpu)",
    ],
    [
      "renamed to one that does not exist either",
      TEST_CLUSTER,
      [["--partition", "nowhere"]],
      "no partition 'nowhere': the partitions are",
    ],
    ["one of several", TEST_CLUSTER, [["--partition", "acpu,gpu"]], "no partition 'gpu': the partitions are"],
    // time
    [
      "time over MaxTime (sbatch-refused-time-over-maxtime.txt)",
      TEST_CLUSTER,
      [
        ["--partition", "acompile"],
        ["--time", "13:00:00"],
      ],
      "--time=13:00:00 is above acompile's limit of 12:00:00; ask for at most 12:00:00 or use another partition (acpu, amem, aa100 allow it)",
    ],
    [
      "time over the default partition's MaxTime",
      TEST_CLUSTER,
      [["--time", "2-00:00:00"]],
      "--time=2-00:00:00 is above acpu's limit of 1-00:00:00; ask for at most 1-00:00:00 or use another partition (amem allows it)",
    ],
    [
      "atesting's hour",
      TEST_CLUSTER,
      [
        ["--partition", "atesting"],
        ["--time", "90"],
      ],
      "--time=90 is above atesting's limit of 1:00:00; ask for at most 1:00:00",
    ],
    [
      "no limit where there is one",
      TEST_CLUSTER,
      [["--time", "UNLIMITED"]],
      "--time=UNLIMITED is above acpu's limit of 1-00:00:00; ask for at most 1-00:00:00 or use another partition",
    ],
    // GPUs
    [
      "a GPU on acpu (sbatch-refused-gpu-on-acpu.txt)",
      TEST_CLUSTER,
      [
        ["--partition", "acpu"],
        ["--gres", "gpu:1"],
      ],
      "partition acpu has no GPUs (--gres=gpu:1): use a GPU partition, e.g. -p aa100 (GPU partitions: aa100)",
    ],
    [
      "--gpus on the default partition",
      TEST_CLUSTER,
      [["--gpus", "1"]],
      "partition acpu has no GPUs (--gpus=1): use a GPU partition, e.g. -p aa100",
    ],
    [
      "--gpus-per-node on acompile",
      TEST_CLUSTER,
      [
        ["--partition", "acompile"],
        ["--gpus-per-node", "a100:1"],
      ],
      "partition acompile has no GPUs (--gpus-per-node=a100:1)",
    ],
    [
      "more GPUs than the partition has (sbatch-refused-too-many-gpus.txt)",
      TEST_CLUSTER,
      [
        ["--partition", "aa100"],
        ["--gres", "gpu:3"],
      ],
      "--gres=gpu:3 asks for 3 GPUs but aa100 has 2 in all; ask for at most 2",
    ],
    [
      "GPUs per node times nodes",
      TEST_CLUSTER,
      [
        ["--partition", "aa100"],
        ["--nodes", "3"],
        ["--gres", "gpu:a100:1"],
      ],
      "--gres=gpu:a100:1 asks for 3 GPUs but aa100 has 2",
    ],
    [
      "typed --gpus summed",
      TEST_CLUSTER,
      [
        ["--partition", "aa100"],
        ["--gpus", "a100:2,a100:1"],
      ],
      "--gpus=a100:2,a100:1 asks for 3 GPUs",
    ],
    [
      "more GPUs than al40, fewer than aa100",
      ALPINE,
      [
        ["--partition", "al40"],
        ["--gpus", "8"],
        ["--qos", "gpu-normal"],
      ],
      "--gpus=8 asks for 8 GPUs but al40 has 6 in all; ask for at most 6, or use a partition with more GPUs: aa100",
    ],
    // memory and CPUs
    [
      "memory over the biggest node (sbatch-refused-mem-too-large.txt)",
      TEST_CLUSTER,
      [["--mem", "100G"]],
      "--mem=100G is more than any node of acpu has (16000M = 15.6G); ask for at most --mem=16000M",
    ],
    [
      "memory for amem",
      ALPINE,
      [["--mem", "500G"]],
      "--mem=500G is more than any node of acpu has (256000M = 250G); ask for at most --mem=256000M, or use a partition with bigger nodes: amem",
    ],
    [
      "memory per CPU times CPUs",
      TEST_CLUSTER,
      [
        ["--mem-per-cpu", "4G"],
        ["--cpus-per-task", "8"],
      ],
      "--mem-per-cpu=4G for 8 CPUs is 32G, more than any node of acpu has (16000M = 15.6G); ask for less",
    ],
    [
      "memory per CPU alone",
      TEST_CLUSTER,
      [["--mem-per-cpu", "20G"]],
      "--mem-per-cpu=20G for 1 CPU is 20G, more than any node of acpu has",
    ],
    [
      "more CPUs than a node",
      TEST_CLUSTER,
      [["--cpus-per-task", "16"]],
      "--cpus-per-task=16 is more than a node of acpu has (8 CPUs); ask for at most 8",
    ],
    [
      "more CPUs than acpu's nodes, not amem's",
      ALPINE,
      [["--cpus-per-task", "100"]],
      "--cpus-per-task=100 is more than a node of acpu has (64 CPUs); ask for at most 64, or use a partition with bigger nodes: amem",
    ],
    // accounts and QoS
    [
      "an account typo (sbatch-refused-account-partition-typo.txt)",
      TEST_CLUSTER,
      [
        ["--account", "ucb-generl"],
        ["--partition", "acpu"],
      ],
      "you have no association with account 'ucb-generl' — did you mean 'ucb-general'? Your accounts are ucb-general, amc-general",
    ],
    [
      "an account that is not yours (sbatch-refused-bad-account.txt)",
      TEST_CLUSTER,
      [["--account", "nosuch"]],
      "you have no association with account 'nosuch': your accounts are ucb-general, amc-general",
    ],
    [
      "a project account off its partition",
      ALPINE,
      [
        ["--account", "amc123_asc1"],
        ["--qos", "cpu-normal"],
      ],
      "account amc123_asc1 cannot be used on partition acpu: it covers aa100; use one of those or another account",
    ],
    [
      "a QoS the partition does not allow",
      ALPINE,
      [
        ["--partition", "acpu"],
        ["--qos", "gpu-normal"],
      ],
      "QoS 'gpu-normal' is not allowed on partition acpu: use one of cpu-normal, cpu-long",
    ],
    [
      "a QoS the account does not have",
      ALPINE,
      [
        ["--partition", "aa100"],
        ["--account", "amc123_asc1"],
        ["--qos", "gpu-testing"],
      ],
      "account amc123_asc1 cannot use QoS 'gpu-testing': use one of gpu-normal",
    ],
    [
      "a QoS the default account does not have",
      TEST_CLUSTER,
      [["--qos", "long"]],
      "account ucb-general cannot use QoS 'long': use one of normal",
    ],
  ])("%s", (_what, info, sbatch, message) => {
    expect(() => validateAgainstCluster(sbatch, info, RENAMED)).toThrow(MagicError);
    expect(() => validateAgainstCluster(sbatch, info, RENAMED)).toThrow(message);
  });

  test("a cluster without GPUs says so", () => {
    const noGpus: ClusterInfo = {
      ...TEST_CLUSTER,
      partitions: TEST_CLUSTER.partitions.filter((p) => p.gpus === 0),
    };
    expect(() => validateAgainstCluster([["--gres", "gpu:1"]], noGpus, RENAMED)).toThrow(
      "partition acpu has no GPUs (--gres=gpu:1), and no partition of this cluster has any: drop --gres",
    );
  });
});

describe("--array against the cluster's array limits", () => {
  /** The test cluster with its `scontrol show config`: MaxArraySize 1001, no max_array_tasks. */
  const WITH_CONFIG: ClusterInfo = parseClusterInfo(
    {
      partitions: fixture("scontrol-show-partition.txt"),
      nodeSizes: fixture("sinfo-node-sizes.txt"),
      user: fixture("sacctmgr-user-withassoc.txt"),
      config: fixture("scontrol-show-config.txt"),
    },
    0,
  );

  test("ids up to MaxArraySize - 1 pass, however many", () => {
    expect(WITH_CONFIG.maxArraySize).toBe(1001);
    expect(() => validateAgainstCluster([["--array", "0-1000%10"]], WITH_CONFIG, RENAMED)).not.toThrow();
    expect(() => validateAgainstCluster([["--array", "3,999,1000"]], WITH_CONFIG, RENAMED)).not.toThrow();
  });

  test("an id at MaxArraySize or above is refused with the range to use and how to offset", () => {
    expect(() => validateAgainstCluster([["--array", "1000-1500"]], WITH_CONFIG, RENAMED)).toThrow(
      "--array 1000-1500: task ids go up to 1500, but this cluster's MaxArraySize is 1001, so ids must be 0–1000; number the tasks within 0–1000 and compute the parameter from task_id (e.g. value = offset + task_id), or split the sweep into cells that each use ids 0–1000 with their own offset",
    );
  });

  test("max_array_tasks (SchedulerParameters) bounds the number of tasks", () => {
    const limited: ClusterInfo = { ...WITH_CONFIG, maxArraySize: 40001, maxArrayTasks: 1000 };
    expect(() => validateAgainstCluster([["--array", "0-39998:40"]], limited, RENAMED)).not.toThrow();
    expect(() => validateAgainstCluster([["--array", "0-1000"]], limited, RENAMED)).toThrow(
      "--array 0-1000 has 1001 tasks, but this cluster allows 1000 per array (SchedulerParameters max_array_tasks); split the sweep into cells of at most 1000 tasks",
    );
  });

  test("limits not discovered: nothing checked (sbatch will say)", () => {
    expect(() => validateAgainstCluster([["--array", "0-50000"]], TEST_CLUSTER, RENAMED)).not.toThrow();
  });
});
