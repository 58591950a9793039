/** Built-in cluster profiles: Alpine's defaults under the user's file, resource profiles extended by name. */
import { parseConfig } from "../../../src/config/config";
import { ALPINE_RESOURCE_PROFILES, mergeUnder } from "../../../src/config/cluster-profiles";

describe("cluster_profile: alpine", () => {
  test("alone, it is a laptop reaching Alpine over SSH with Alpine's defaults", () => {
    const cfg = parseConfig("cluster_profile: alpine\n", "c.yaml");
    expect(cfg).toMatchObject({
      backend: "slurm",
      work_dir: "/scratch/alpine/$USER/alpine-kernel",
      environment: { modules: ["miniforge"], conda_env: "alpine-kernel", build_partition: "acompile" },
      slurm: { account_required: true, profiles: ALPINE_RESOURCE_PROFILES },
      cluster: { transport: "ssh", host: "login.rc.colorado.edu" },
    });
    expect(cfg.profile).toMatchObject({ name: "alpine", sbatchDefaults: "--partition acpu --time 1:00:00" });
    expect(Object.keys(cfg.slurm.profiles).sort()).toEqual(["bigmem", "cpu", "gpu", "testing"]);
  });

  test("local: the same cluster seen from Alpine itself, no SSH", () => {
    const cfg = parseConfig("cluster_profile: local\n", "c.yaml");
    expect(cfg.cluster.transport).toBe("local");
    expect(cfg.cluster.host).toBeUndefined();
    expect(cfg.backend).toBe("slurm");
    expect(cfg.profile?.name).toBe("local");
  });

  test("every key of the file wins; resource profiles are extended and overridden by name", () => {
    const cfg = parseConfig(
      [
        "cluster_profile: alpine",
        "work_dir: /projects/$USER/ak",
        "environment:",
        "  conda_env: myenv",
        "slurm:",
        '  defaults: "--account amc-general --mem 8G"',
        "  profiles:",
        '    gpu: "-p aa100 --gres gpu:2"',
        '    mine: "-c 16"',
        "cluster:",
        "  host: alpine",
        "  user: maya@colorado.edu",
      ].join("\n"),
      "c.yaml",
    );
    expect(cfg.work_dir).toBe("/projects/$USER/ak");
    expect(cfg.environment).toMatchObject({ modules: ["miniforge"], conda_env: "myenv" });
    expect(cfg.slurm.profiles).toEqual({
      ...ALPINE_RESOURCE_PROFILES,
      gpu: "-p aa100 --gres gpu:2",
      mine: "-c 16",
    });
    expect(cfg.slurm.defaults).toBe("--account amc-general --mem 8G");
    expect(cfg.cluster).toMatchObject({ transport: "ssh", host: "alpine", user: "maya@colorado.edu" });
  });

  test("an unknown profile is refused with the names there are", () => {
    expect(() => parseConfig("cluster_profile: summit\n", "c.yaml")).toThrow(
      /cluster_profile: Invalid option: expected one of "alpine"\|"local"/,
    );
  });

  test("a profile's keys are still checked: a bad value the user gives is named", () => {
    expect(() =>
      parseConfig("cluster_profile: alpine\nslurm:\n  account_required: maybe\n", "c.yaml"),
    ).toThrow(/slurm\.account_required/);
  });
});

describe("mergeUnder", () => {
  test("objects merge key by key; lists and strings replace", () => {
    const under = { a: { b: 1, c: [1, 2] }, d: "x", e: { f: 1 } };
    const over = { a: { c: [3] }, d: "y", g: 2 };
    expect(mergeUnder(under, over)).toEqual({ a: { b: 1, c: [3] }, d: "y", e: { f: 1 }, g: 2 });
    expect(under).toEqual({ a: { b: 1, c: [1, 2] }, d: "x", e: { f: 1 } });
  });
  test("null in the file replaces the profile's object (the schema then says what is wrong)", () => {
    expect(mergeUnder({ a: { b: 1 } }, { a: null })).toEqual({ a: null });
  });
});
