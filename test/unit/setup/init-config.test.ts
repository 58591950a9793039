/** What `alpine-kernel init` writes: commented, and read back by the configuration as answered. */
import { parseConfig } from "../../../src/config/config";
import { renderConfig } from "../../../src/setup/init-config";
import { readEnvFile } from "../../../src/setup/environments";
import { freeKilobytes } from "../../../src/setup/doctor-workdir";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WHEN = new Date("2026-12-01T10:00:00Z");

test("Alpine over SSH: the answers, read back as given", () => {
  const text = renderConfig(
    {
      profile: "alpine",
      host: "alpine",
      user: "maya@colorado.edu",
      account: "amc-general",
      condaEnv: "alpine-kernel",
    },
    WHEN,
  );
  expect(text).toMatch(/^# alpine-kernel configuration, written by `alpine-kernel init` on 2026-12-01\./);
  const cfg = parseConfig(text, "c.yaml");
  expect(cfg).toMatchObject({
    backend: "slurm",
    cluster: { transport: "ssh", host: "alpine", user: "maya@colorado.edu" },
    slurm: { defaults: "--account amc-general", account_required: true },
    environment: { conda_env: "alpine-kernel", modules: ["miniforge"] },
    work_dir: "/scratch/alpine/$USER/alpine-kernel",
  });
});

test("on Alpine itself, a work directory, an ssh config path with spaces, a cluster without acpu/acompile", () => {
  const local = parseConfig(
    renderConfig({ profile: "local", condaEnv: "myenv", workDir: "/projects/$USER/ak" }, WHEN),
    "c",
  );
  expect(local.cluster.transport).toBe("local");
  expect(local.work_dir).toBe("/projects/$USER/ak");
  const other = parseConfig(
    renderConfig(
      {
        profile: "alpine",
        host: "hpc.example.edu",
        sshConfig: "/home/maya/my ssh/config",
        port: 2222,
        condaEnv: "e",
        defaultPartition: "compute",
        buildPartition: "compute",
        missingProfiles: ["gpu"],
      },
      WHEN,
    ),
    "c",
  );
  expect(other.cluster).toMatchObject({ ssh_config: "/home/maya/my ssh/config", port: 2222 });
  expect(other.slurm.defaults).toBe("--partition compute");
  expect(other.environment.build_partition).toBe("compute");
});

describe("readEnvFile", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "ak-envfile-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("alpine-kernel's own environment.yml, when the directory has none: nothing missing", () => {
    const f = readEnvFile(undefined, dir);
    expect(f.path).toMatch(/environment\.yml$/);
    expect(f.name).toBe("alpine-kernel");
    expect(f.warnings).toEqual([]);
  });

  test("./environment.yml first; what the cells will miss is said", () => {
    writeFileSync(
      join(dir, "environment.yml"),
      "name: mine\ndependencies:\n  - numpy\n  - pip:\n    - dill==0.3.8\n",
    );
    const f = readEnvFile(undefined, dir);
    expect(f.path).toBe(join(dir, "environment.yml"));
    expect(f.warnings).toEqual([
      "it does not list python: the cell runner needs Python 3.8 or newer (add python=3.11)",
      "it does not list ipython, which cells want (for display, magics and tracebacks)",
    ]);
  });

  test.each([
    ["missing.yml", /cannot read the environment file/],
    ["bad.yml", /is not valid YAML/],
    ["list.yml", /needs a dependencies: list/],
  ])("%s is refused", (name, message) => {
    writeFileSync(join(dir, "bad.yml"), "name: [\n");
    writeFileSync(join(dir, "list.yml"), "- a\n- b\n");
    expect(() => readEnvFile(name, dir)).toThrow(message);
  });
});

test("df -Pk: the free kilobytes", () => {
  const df =
    "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sda1        101000000  30000000  70766212      30% /\n";
  expect(freeKilobytes(df)).toBe(70766212);
  expect(freeKilobytes("")).toBeUndefined();
});
