/**
 * `alpine-kernel doctor` from "a laptop" (root, a home of its own) reaching the test cluster over
 * SSH: all ✓ on a good setup (with --submit: a real job, timed), and on each broken setup the ✗
 * names the broken piece with its fix, and the exit status is 1.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, type CliResult } from "../../helpers/cli";
import { requireCluster, type ClusterEnv } from "../../helpers/slurm";
import { hostBlock, writeSshConfig } from "../../helpers/ssh";

/** The lines of doctor's report, by check name: [mark, detail (+ fix)]. */
function report(r: CliResult): Map<string, string> {
  const out = new Map<string, string>();
  let last = "";
  for (const line of r.stdout.split("\n")) {
    const m = /^([✓✗–]) ([^:]+): (.*)$/.exec(line);
    if (m) out.set((last = m[2]!), `${m[1]} ${m[3]}`);
    else if (line.startsWith("    → ") && last) out.set(last, `${out.get(last)!}\n${line.trim()}`);
  }
  return out;
}

const CHECKS = [
  "configuration",
  "host key",
  "cluster",
  "Slurm commands",
  "account",
  "partitions",
  "work directory",
  "environment",
  "runner",
  "server",
  "kernelspec",
];

describe("alpine-kernel doctor", () => {
  let cluster: ClusterEnv;
  let dir: string;
  let workDir: string;
  let base: Record<string, string>;

  /** A laptop configuration reaching the cluster's key-only port; `extra` YAML is appended. */
  const configWith = (extra = "", host = "alpine-test-key", sshConfig = cluster.ALPINE_TEST_SSH_CONFIG!) =>
    [
      "cluster_profile: alpine",
      `work_dir: ${workDir}`,
      "cluster:",
      `  host: ${host}`,
      `  ssh_config: ${sshConfig}`,
      "slurm:",
      '  defaults: "--account ucb-general --time 0:10:00 --mem 1G"',
      extra,
    ].join("\n");

  async function doctor(
    config: string,
    args: string[] = [],
    env: Record<string, string> = {},
  ): Promise<CliResult> {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, config);
    return cli(
      ["doctor", ...args],
      { ...base, ALPINE_KERNEL_CONFIG: path, ...env },
      { cwd: dir, timeoutMs: 120_000 },
    );
  }

  beforeAll(() => {
    cluster = requireCluster();
    dir = mkdtempSync(join(tmpdir(), "ak-doctor-"));
    workDir = `${cluster.scratch}/ak-test-doctor-${process.pid}`;
    base = {
      HOME: join(dir, "home"),
      USER: "root",
      ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
      ALPINE_KERNEL_RUNTIME_DIR: join(dir, "run"),
      JUPYTER_DATA_DIR: join(dir, "jupyter"),
      JUPYTER_PATH: "",
    };
    mkdirSync(base.HOME!, { recursive: true });
    execFileSync(process.execPath, [join(__dirname, "../../../dist/cli/main.js"), "install", "--user"], {
      env: { ...process.env, ...base },
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a good setup: every check ✓, and --submit runs a real cell and times it", async () => {
    const r = await doctor(configWith(), ["--submit"]);
    const lines = report(r);
    expect([...lines.keys()]).toEqual([...CHECKS.slice(0, 9), "test job", ...CHECKS.slice(9)]);
    for (const [name, line] of lines) expect(`${name}: ${line}`).toMatch(/^[^:]+: ✓ /);
    expect(r.code).toBe(0);
    expect(lines.get("cluster")).toBe(
      `✓ connected to ${cluster.user}@127.0.0.1:${cluster.ALPINE_TEST_PORT_KEY}`,
    );
    expect(lines.get("account")).toBe("✓ ucb-general (yours: ucb-general, amc-general)");
    expect(lines.get("environment")).toMatch(
      /^✓ conda env alpine-kernel: Python 3\.\d+\.\d+ at \/opt\/alpine\/conda-envs\/alpine-kernel\/bin\/python \(IPython ✓, dill ✓\)$/,
    );
    expect(lines.get("test job")).toMatch(
      /^✓ job \d+: python 3\.\d+\.\d+ on \S+ job \d+ — submitted in \d+\.\d s, running \d+\.\d s later, done \d+\.\d s after that; \d+\.\d s in all$/,
    );
    expect(r.stdout).toMatch(/All 12 checks passed\.$/m);
  }, 120_000);

  test.each<[string, () => Promise<CliResult>, string, RegExp, RegExp]>([
    [
      "a configuration with a misspelt key",
      () => doctor(configWith("environment:\n  conda_envv: x\n")),
      "configuration",
      /^✗ invalid configuration in .*environment: Unrecognized key: "conda_envv"/s,
      /→ fix the file as the message says, or write a new one with `alpine-kernel init --force`/,
    ],
    [
      "a laptop whose known_hosts does not know the cluster",
      async () => {
        writeFileSync(join(dir, "empty_known_hosts"), "");
        const ssh = writeSshConfig(
          cluster,
          dir,
          hostBlock(cluster, "fresh-laptop", Number(cluster.ALPINE_TEST_PORT_KEY), [
            `IdentityFile ${cluster.ALPINE_TEST_KEY}`,
            `UserKnownHostsFile ${join(dir, "empty_known_hosts")}`,
          ]),
          false,
        );
        return doctor(configWith("", "fresh-laptop", ssh));
      },
      "host key",
      /^✗ the host key of 127\.0\.0\.1:\d+ is not in .*empty_known_hosts/,
      /→ run `ssh -p \d+ alpineuser@127\.0\.0\.1` once and accept the key/,
    ],
    [
      "an account that is not the user's",
      () => doctor(configWith().replace("--account ucb-general", "--account ucb-generall")),
      "account",
      /^✗ you have no association with account 'ucb-generall' — did you mean 'ucb-general'\?/,
      /→ set one of your accounts \(ucb-general, amc-general\) in slurm\.defaults/,
    ],
    [
      "a conda environment that is not there",
      () => doctor(configWith("environment:\n  conda_env: ak-no-such-env\n")),
      "environment",
      /^✗ the conda environment 'ak-no-such-env' is not on the cluster .*`alpine-kernel env create --name ak-no-such-env`/,
      /./,
    ],
    [
      "a work directory the user cannot write",
      () => doctor(configWith().replace(`work_dir: ${workDir}`, "work_dir: /opt/alpine/ak-not-yours")),
      "work directory",
      /^✗ \/opt\/alpine\/ak-not-yours cannot be created or written: .*(Permission denied|permission denied)/,
      /→ set work_dir to a directory of your own on a large file system/,
    ],
    [
      "a work directory in the small-quota home",
      () => doctor(configWith().replace(`work_dir: ${workDir}`, "work_dir: ~/alpine-kernel-doctor-test")),
      "work directory",
      /^✗ \/home\/alpineuser\/alpine-kernel-doctor-test is in your home directory, which has a small quota on Alpine \(2 GB\)/,
      /→ set work_dir to .*\/scratch\/alpine\/\$USER\/alpine-kernel/,
    ],
    [
      "no kernelspec where Jupyter looks",
      () => doctor(configWith(), [], { JUPYTER_DATA_DIR: join(dir, "no-jupyter") }),
      "kernelspec",
      /^✗ no alpine-kernel kernelspec where Jupyter looks/,
      /→ run `alpine-kernel install --user`/,
    ],
  ])(
    "%s: ✗ names it with its fix; exit status 1",
    async (_what, run, check, problem, fix) => {
      const r = await run();
      const lines = report(r);
      expect(r.code).toBe(1);
      expect(lines.get(check)).toMatch(problem);
      expect(lines.get(check)).toMatch(fix);
      const failed = [...lines].filter(([, l]) => l.startsWith("✗")).map(([n]) => n);
      expect(failed[0]).toBe(check);
      expect(r.stdout).toMatch(new RegExp(`check\\(s\\) failed: ${check}`));
    },
    120_000,
  );

  test("a broken configuration: the checks that need it say they were not run", async () => {
    const lines = report(await doctor("backend: slurmm\n"));
    expect(lines.get("configuration")).toMatch(
      /^✗ .*backend: Invalid option: expected one of "local"\|"slurm"/s,
    );
    for (const n of ["host key", "cluster", "Slurm commands", "environment"])
      expect(lines.get(n)).toBe("– not checked: the configuration is not valid");
    expect(lines.get("kernelspec")).toMatch(/^✓ "Python \(Alpine\)"/);
  });
});
