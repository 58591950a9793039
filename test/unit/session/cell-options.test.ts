/**
 * A cell's effective Slurm options: configuration defaults, then %slurm, then a profile, then the
 * cell's own options (later wins, --mem and --mem-per-cpu replace each other); checked against the
 * cluster (discovered from real scontrol/sinfo/sacctmgr output) on the slurm backend.
 */
import { parseConfig, ConfigError } from "../../../src/config/config";
import { parseSlurmOptions } from "../../../src/magics/sbatch-args";
import { tokenize } from "../../../src/magics/tokenize";
import { MagicError, type ParsedOptions, type SbatchPair } from "../../../src/magics/types";
import { CellOptions, mergePairs, requestedOf } from "../../../src/session/cell-options";
import { ClusterDiscovery } from "../../../src/jobs/slurm/discovery";
import { SCONTROL_PARTITIONS_ARGV, SINFO_NODE_SIZES_ARGV } from "../../../src/jobs/slurm/parse-cluster";
import { ScriptedTransport, fixture, ok } from "../jobs/slurm/scripted-transport";

const CONFIG = `
backend: slurm
slurm:
  defaults: "--account ucb-general --time 1:00:00 --mem 4G"
  profiles:
    gpu: "--partition aa100 --gpus 1 --time 2:00:00"
    big: "--mem-per-cpu 3G --cpus-per-task 4"
`;
const config = (text = CONFIG) => parseConfig(text, "config.yaml");
const opts = (line: string, source = "%%slurm"): ParsedOptions => parseSlurmOptions(tokenize(line), source);

describe("mergePairs", () => {
  const cases: [string, SbatchPair[][], SbatchPair[]][] = [
    ["nothing", [], []],
    [
      "a later value replaces an earlier one in place; new options are appended",
      [
        [
          ["--account", "a"],
          ["--time", "1:00:00"],
        ],
        [
          ["--time", "2:00:00"],
          ["--qos", "normal"],
        ],
      ],
      [
        ["--account", "a"],
        ["--time", "2:00:00"],
        ["--qos", "normal"],
      ],
    ],
    [
      "--mem-per-cpu replaces --mem",
      [[["--mem", "4G"]], [["--mem-per-cpu", "1G"]]],
      [["--mem-per-cpu", "1G"]],
    ],
    [
      "--mem replaces --mem-per-cpu",
      [[["--mem-per-cpu", "1G"], ["--exclusive"]], [["--mem", "8G"]]],
      [["--mem", "8G"], ["--exclusive"]],
    ],
    [
      "four lists, the last wins",
      [[["--time", "1"]], [["--time", "2"]], [["--time", "3"]], [["--time", "4"]]],
      [["--time", "4"]],
    ],
  ];
  test.each(cases)("%s", (_n, lists, merged) => {
    expect(mergePairs(...lists)).toEqual(merged);
  });
});

describe("requestedOf", () => {
  const cases: [string, SbatchPair[], ReturnType<typeof requestedOf>][] = [
    ["nothing asked", [], { time: undefined, mem: undefined, partition: undefined }],
    [
      "time, memory, partition",
      [
        ["--partition", "amem"],
        ["--time", "2:00:00"],
        ["--mem", "300G"],
      ],
      { time: "2:00:00", mem: "300G", partition: "amem" },
    ],
    ["memory per CPU", [["--mem-per-cpu", "2G"]], { time: undefined, mem: "2G", partition: undefined }],
  ];
  test.each(cases)("%s", (_n, pairs, requested) => {
    expect(requestedOf(pairs)).toEqual(requested);
  });
});

describe("effective options (no cluster checks: local backend)", () => {
  const cases: [string, string | undefined, string | undefined, SbatchPair[]][] = [
    [
      "the configuration's defaults",
      undefined,
      undefined,
      [
        ["--account", "ucb-general"],
        ["--time", "1:00:00"],
        ["--mem", "4G"],
      ],
    ],
    [
      "%slurm over the configuration",
      "--time 3:00:00 --qos normal",
      undefined,
      [
        ["--account", "ucb-general"],
        ["--time", "3:00:00"],
        ["--mem", "4G"],
        ["--qos", "normal"],
      ],
    ],
    [
      "a profile over %slurm",
      "--time 3:00:00",
      "--profile gpu",
      [
        ["--account", "ucb-general"],
        ["--time", "2:00:00"],
        ["--mem", "4G"],
        ["--partition", "aa100"],
        ["--gpus", "1"],
      ],
    ],
    [
      "the cell over its profile",
      "--time 3:00:00",
      "--profile gpu --time 0:30:00 --gpus 2",
      [
        ["--account", "ucb-general"],
        ["--time", "0:30:00"],
        ["--mem", "4G"],
        ["--partition", "aa100"],
        ["--gpus", "2"],
      ],
    ],
    [
      "a profile's --mem-per-cpu replaces the configuration's --mem",
      undefined,
      "--profile big",
      [
        ["--account", "ucb-general"],
        ["--time", "1:00:00"],
        ["--mem-per-cpu", "3G"],
        ["--cpus-per-task", "4"],
      ],
    ],
    [
      "the cell's --mem replaces the profile's --mem-per-cpu",
      "--mem-per-cpu 1G",
      "--profile big --mem 10G",
      [
        ["--account", "ucb-general"],
        ["--time", "1:00:00"],
        ["--mem", "10G"],
        ["--cpus-per-task", "4"],
      ],
    ],
  ];
  test.each(cases)("%s", async (_n, notebook, cell, sbatch) => {
    const co = new CellOptions(config(), undefined);
    if (notebook) await co.setNotebookDefaults(opts(notebook, "%slurm"));
    const eff = await co.effective(cell ? opts(cell) : undefined);
    expect(eff.sbatch).toEqual(sbatch);
    expect(eff.requested).toEqual(requestedOf(sbatch));
    expect(eff.partition).toBe(requestedOf(sbatch).partition);
    expect(eff.detach).toBe(false);
  });

  test("--detach comes from the cell", async () => {
    const co = new CellOptions(config(), undefined);
    expect((await co.effective(opts("--detach"))).detach).toBe(true);
  });

  test("%slurm lines add up; a %slurm profile is taken in", async () => {
    const co = new CellOptions(config(), undefined);
    await co.setNotebookDefaults(opts("--qos normal", "%slurm"));
    await co.setNotebookDefaults(opts("--profile big --time 4:00:00", "%slurm"));
    expect(co.notebookDefaults).toEqual([
      ["--qos", "normal"],
      ["--mem-per-cpu", "3G"],
      ["--cpus-per-task", "4"],
      ["--time", "4:00:00"],
    ]);
    const { pairs, sources } = await co.describe();
    expect(pairs.map(([k, v]) => [k, v, sources[k]])).toEqual([
      ["--account", "ucb-general", "config"],
      ["--time", "4:00:00", "%slurm"],
      ["--mem-per-cpu", "3G", "%slurm"],
      ["--qos", "normal", "%slurm"],
      ["--cpus-per-task", "4", "%slurm"],
    ]);
  });
});

describe("refusals", () => {
  const cases: [string, string, (co: CellOptions) => Promise<unknown>, RegExp][] = [
    [
      "an unknown profile names the ones there are",
      CONFIG,
      (co) => co.effective(opts("--profile gpux")),
      /^no profile 'gpux' in your configuration; profiles: gpu, big$/,
    ],
    [
      "an unknown profile with none configured says where to add one",
      "backend: local\n",
      (co) => co.effective(opts("--profile gpu")),
      /^no profile 'gpu' in your configuration \(add one under slurm\.profiles\)$/,
    ],
    [
      "an unknown profile in %slurm",
      CONFIG,
      (co) => co.setNotebookDefaults(opts("--profile nope", "%slurm")),
      /^no profile 'nope' in your configuration; profiles: gpu, big$/,
    ],
    [
      "%slurm --detach",
      CONFIG,
      (co) => co.setNotebookDefaults(opts("--detach", "%slurm")),
      /^--detach applies to one cell: use it with %%slurm, not %slurm$/,
    ],
  ];
  test.each(cases)("%s", async (_n, text, act, message) => {
    const co = new CellOptions(config(text), undefined);
    const err = await act(co).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MagicError);
    expect((err as Error).message).toMatch(message);
    expect(co.notebookDefaults).toEqual([]);
  });

  test.each([
    ["slurm.defaults", `slurm:\n  defaults: "--time 1:00:00 --detach"\n`, () => undefined],
    [
      "a profile",
      `slurm:\n  profiles:\n    bg: "--profile gpu"\n`,
      (co: CellOptions) => co.effective(opts("--profile bg")),
    ],
  ])("--detach/--profile in %s: a ConfigError naming the file and key", async (_n, text, act) => {
    const err = await (async () => act(new CellOptions(config(text), undefined)))().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^config\.yaml: slurm\.(defaults|profiles\.bg): --detach, --profile, --env and --after belong in cells, not here$/,
    );
  });

  test("--array and --dependency are one cell's: refused as defaults, in the config and by %slurm", async () => {
    expect(() => new CellOptions(config(`slurm:\n  defaults: "--array 0-9"\n`), undefined)).toThrow(
      "config.yaml: slurm.defaults: --array applies to one cell: use it with %%slurm on that cell, not as a default in slurm.defaults",
    );
    const co = new CellOptions(config(), undefined);
    await expect(co.setNotebookDefaults(opts("--dependency afterok:12", "%slurm"))).rejects.toThrow(
      "--dependency applies to one cell: use it with %%slurm on that cell, not as a default in %slurm",
    );
    await expect(co.setNotebookDefaults(opts("--after 3", "%slurm"))).rejects.toThrow(
      "--after applies to one cell: use it with %%slurm, not %slurm",
    );
    expect(co.notebookDefaults).toEqual([]);
    // A profile may hold an array: it is used by one cell.
    const withProfile = new CellOptions(
      config(`slurm:\n  profiles:\n    sweep: "--array 0-9%2"\n`),
      undefined,
    );
    expect((await withProfile.effective(opts("--profile sweep"))).sbatch).toEqual([["--array", "0-9%2"]]);
  });

  test("a rerun's options: its first run's, the rerun cell's own on top", async () => {
    const co = new CellOptions(config(`slurm:\n  defaults: "--mem 2G"\n`), undefined);
    const eff = await co.effectiveFrom(
      [
        ["--time", "0:01:00"],
        ["--mem", "4G"],
      ],
      opts("--time 0:10:00"),
    );
    expect(eff.sbatch).toEqual([
      ["--time", "0:10:00"],
      ["--mem", "4G"],
    ]);
    expect(eff.requested).toEqual({ time: "0:10:00", mem: "4G", partition: undefined });
  });
});

describe("on the slurm backend: checked against the discovered cluster", () => {
  function discovery(): { discovery: ClusterDiscovery; transport: ScriptedTransport } {
    const transport = new ScriptedTransport((argv) => {
      if (argv.join(" ") === SCONTROL_PARTITIONS_ARGV.join(" "))
        return ok(fixture("scontrol-show-partition.txt"));
      if (argv.join(" ") === SINFO_NODE_SIZES_ARGV.join(" ")) return ok(fixture("sinfo-node-sizes.txt"));
      if (argv[0] === "sacctmgr") return ok(fixture("sacctmgr-user-withassoc.txt"));
      return new Error(`unexpected command ${argv.join(" ")}`);
    });
    return { discovery: new ClusterDiscovery(transport, 600_000), transport };
  }

  test("no --partition: the cluster's default partition; no --account: the default account", async () => {
    const { discovery: d } = discovery();
    const co = new CellOptions(config("backend: slurm\n"), d);
    const eff = await co.effective(opts("--time 0:10:00"));
    expect(eff.partition).toBe("acpu");
    expect(eff.sbatch).toEqual([
      ["--time", "0:10:00"],
      ["--account", "ucb-general"],
    ]);
  });

  test("a cell over the partition's limit is refused before anything is submitted", async () => {
    const { discovery: d, transport } = discovery();
    const co = new CellOptions(config(), d);
    await expect(co.effective(opts("-p atesting --time 2:00:00"))).rejects.toThrow(
      /^--time=2:00:00 is above atesting's limit of 1:00:00/,
    );
    expect(transport.callsOf("sbatch")).toEqual([]);
  });

  test("the renamed partition is pointed out", async () => {
    const { discovery: d } = discovery();
    const co = new CellOptions(config(), d);
    await expect(co.effective(opts("-p amilan"))).rejects.toThrow(
      /did you mean 'acpu'\? \(amilan was renamed acpu\)/,
    );
  });

  test("%slurm options the cluster refuses are not kept", async () => {
    const { discovery: d } = discovery();
    const co = new CellOptions(config(), d);
    await co.setNotebookDefaults(opts("--time 2:00:00", "%slurm"));
    await expect(co.setNotebookDefaults(opts("--mem 100G", "%slurm"))).rejects.toThrow(MagicError);
    expect(co.notebookDefaults).toEqual([["--time", "2:00:00"]]);
  });
});

describe("cluster profiles, kernel profiles, --env, service units", () => {
  function discovery(user = fixture("sacctmgr-user-withassoc.txt")): ClusterDiscovery {
    const transport = new ScriptedTransport((argv) => {
      if (argv.join(" ") === SCONTROL_PARTITIONS_ARGV.join(" "))
        return ok(fixture("scontrol-show-partition.txt"));
      if (argv.join(" ") === SINFO_NODE_SIZES_ARGV.join(" ")) return ok(fixture("sinfo-node-sizes.txt"));
      if (argv[0] === "sacctmgr") return ok(user);
      if (argv.join(" ") === "scontrol show config") return ok(fixture("scontrol-show-config.txt"));
      return new Error(`unexpected command ${argv.join(" ")}`);
    });
    return new ClusterDiscovery(transport, 600_000);
  }

  test("cluster_profile: alpine puts acpu and 1:00:00 under slurm.defaults, option by option", async () => {
    const co = new CellOptions(
      config('cluster_profile: alpine\nslurm:\n  defaults: "--time 2:00:00 --mem 4G"\n'),
      undefined,
    );
    expect((await co.effective(undefined)).sbatch).toEqual([
      ["--partition", "acpu"],
      ["--time", "2:00:00"],
      ["--mem", "4G"],
    ]);
    const { sources } = await co.describe();
    expect(sources["--partition"]).toBe("config");
  });

  test("the kernelspec's profile comes after the configuration and before %slurm and the cell", async () => {
    const co = new CellOptions(config(), undefined, [], "gpu");
    expect((await co.effective(undefined)).sbatch).toEqual([
      ["--account", "ucb-general"],
      ["--time", "2:00:00"],
      ["--mem", "4G"],
      ["--partition", "aa100"],
      ["--gpus", "1"],
    ]);
    await co.setNotebookDefaults(opts("--time 3:00:00", "%slurm"));
    const eff = await co.effective(opts("--gpus 2"));
    expect(eff.sbatch).toContainEqual(["--time", "3:00:00"]);
    expect(eff.sbatch).toContainEqual(["--gpus", "2"]);
    expect((await co.describe()).sources["--partition"]).toBe("kernel (--profile gpu)");
  });

  test("a kernel profile the configuration lacks is a MagicError naming the ones there are", async () => {
    const co = new CellOptions(config(), undefined, [], "gpux");
    await expect(co.effective(undefined)).rejects.toThrow(
      /no profile 'gpux' in your configuration; profiles: gpu, big/,
    );
  });

  test("--env: the cell's, else %slurm's; %slurm --env keeps it for the notebook", async () => {
    const co = new CellOptions(config(), undefined);
    expect((await co.effective(undefined)).env).toBeUndefined();
    await co.setNotebookDefaults(opts("--env myenv", "%slurm"));
    expect(co.notebookEnv).toBe("myenv");
    expect((await co.effective(undefined)).env).toBe("myenv");
    expect((await co.effective(opts("--env /projects/me/envs/torch"))).env).toBe("/projects/me/envs/torch");
  });

  test("account_required: the default account when it is yours, else your only one, else a choice", async () => {
    const required = config("backend: slurm\nslurm:\n  account_required: true\n");
    const only = "maya||amc123||normal\n";
    const eff = await new CellOptions(required, discovery(only)).effective(undefined);
    expect(eff.sbatch).toContainEqual(["--account", "amc123"]);
    const two = "maya||amc123||normal\nmaya||ucb-general||normal\n";
    await expect(new CellOptions(required, discovery(two)).effective(undefined)).rejects.toThrow(
      "this cluster requires --account: choose one of amc123, ucb-general with `%slurm --account amc123` (or slurm.defaults in your configuration)",
    );
    await expect(new CellOptions(required, discovery("")).effective(undefined)).rejects.toThrow(
      /requires --account, and Slurm lists no account you may charge/,
    );
    const withDefault = await new CellOptions(required, discovery()).effective(undefined);
    expect(withDefault.sbatch).toContainEqual(["--account", "ucb-general"]);
  });

  test("the billing rate and time limit of the request, from the partition's weights", async () => {
    const co = new CellOptions(config("backend: slurm\n"), discovery());
    const gpu = await co.effective(opts("-p aa100 --gres gpu:2 -c 2 -t 0:10:00"));
    expect(gpu.requested).toMatchObject({ partition: "aa100", billing: 218, limitSeconds: 600 });
    const dflt = await co.effective(undefined);
    expect(dflt.requested).toMatchObject({ billing: 1, limitSeconds: 3600 });
    const mem = await co.effective(opts("-p amem -c 3 --mem 7G"));
    expect(mem.requested.billing).toBe(4);
  });

  test("no estimate on the local backend (no cluster facts)", async () => {
    const eff = await new CellOptions(config(), undefined).effective(undefined);
    expect(eff.requested.billing).toBeUndefined();
  });
});
