/**
 * `alpine-kernel init` as a new user meets it: on a terminal (a real pseudo-terminal), from "a laptop"
 * whose known_hosts does not know the cluster yet, through Alpine's password + Duo login; the file it
 * writes then runs a cell. Also every question as a flag, and what it refuses.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../../src/config/config";
import { cli, cliOnPty } from "../../helpers/cli";
import { requireCluster, startSlurmServer, streamText, type ClusterEnv } from "../../helpers/slurm";
import {
  answerInNotebook,
  hostBlock,
  hostKeyFingerprint,
  loginAnswers,
  openKernel,
  totpCode,
  writeSshConfig,
} from "../../helpers/ssh";

describe("alpine-kernel init", () => {
  let cluster: ClusterEnv;
  let dir: string;
  let env: Record<string, string>;
  let workDir: string;

  beforeAll(() => {
    cluster = requireCluster();
    dir = mkdtempSync(join(tmpdir(), "ak-init-"));
    workDir = `${cluster.scratch}/ak-test-init-${process.pid}`;
    env = {
      HOME: join(dir, "home"),
      USER: "root",
      ALPINE_KERNEL_CONFIG: join(dir, "home", ".config", "alpine-kernel", "config.yaml"),
      ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
      ALPINE_KERNEL_RUNTIME_DIR: join(dir, "run"),
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("on a terminal: an unknown host key, password and Duo, an account chosen; the file it writes runs a cell", async () => {
    // The laptop's own ssh config: a Host for the password+Duo port, its known_hosts still empty.
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, "");
    const sshConfig = writeSshConfig(
      cluster,
      dir,
      hostBlock(cluster, "alpine", Number(cluster.ALPINE_TEST_PORT_2FA), [
        `UserKnownHostsFile ${knownHosts}`,
        "PubkeyAuthentication no",
      ]),
      false,
    );
    const r = await cliOnPty(
      ["init", "--ssh-config", sshConfig, "--work-dir", workDir],
      [
        { expect: "Cluster: a host name, an alias of ~/\\.ssh/config", answer: "alpine" },
        { expect: `Your username there \\[${cluster.user}\\]`, answer: "" },
        { expect: "Trust this host key and record it in your known_hosts\\? \\[y/N\\]", answer: "y" },
        { expect: "Password: ", answer: cluster.ALPINE_TEST_PASSWORD ?? "alpinepass" },
        { expect: "Passcode or option \\(1-1\\): ", answer: totpCode(cluster) },
        { expect: "Account to charge \\(ucb-general, amc-general\\) \\[ucb-general\\]", answer: "2" },
        { expect: "Environment for the cells .*\\[alpine-kernel\\]", answer: "" },
      ],
      env,
      { cwd: dir, timeoutMs: 90_000 },
    );
    const t = r.transcript;
    expect({ code: r.code, answered: r.answered }).toEqual({ code: 0, answered: 7 });
    expect(t).toContain(
      `alpine is ${cluster.user}@127.0.0.1:${cluster.ALPINE_TEST_PORT_2FA} in your ssh config`,
    );
    expect(t).toContain(hostKeyFingerprint(cluster));
    // Secrets are not echoed.
    expect(t).not.toContain(cluster.ALPINE_TEST_PASSWORD ?? "alpinepass");
    expect(t).toMatch(/✓ connected to alpineuser@127\.0\.0\.1:\d+ in \d+\.\d s/);
    expect(t).toContain("✓ accounts you can charge: ucb-general, amc-general");
    expect(t).toContain("✓ partitions: acpu (default), amem, aa100, acompile, atesting");
    expect(t).toContain(`✓ work directory ${workDir}`);
    expect(t).toMatch(/✓ environment alpine-kernel: Python 3\.\d+\.\d+ \(IPython ✓, dill ✓\)/);
    expect(t).toContain(`✓ wrote ${env.ALPINE_KERNEL_CONFIG}`);
    // The host key was recorded, as ssh's accept-new would.
    expect(readFileSync(knownHosts, "utf8")).toContain(
      `[127.0.0.1]:${cluster.ALPINE_TEST_PORT_2FA} ssh-ed25519 `,
    );

    const text = readFileSync(env.ALPINE_KERNEL_CONFIG!, "utf8");
    expect(statSync(env.ALPINE_KERNEL_CONFIG!).mode & 0o777).toBe(0o600);
    expect(text).toMatch(/^# alpine-kernel configuration, written by `alpine-kernel init`/);
    expect(parseConfig(text, "written")).toMatchObject({
      backend: "slurm",
      cluster: { transport: "ssh", host: "alpine", user: cluster.user, ssh_config: sshConfig },
      slurm: { defaults: "--account amc-general" },
      environment: { conda_env: "alpine-kernel" },
      work_dir: workDir,
    });
    expect(text).not.toContain("host_key_policy"); // accept-new was for this one connection

    // The file works: a server started with it (the laptop's HOME) runs a cell, logging in once.
    const server = await startSlurmServer(cluster, "", text, { transport: "ssh" });
    try {
      const kernel = await openKernel(server, "first-day.ipynb");
      const msgId = await kernel.startExecute(
        "import os\nprint(os.environ['SLURM_JOB_ACCOUNT'], os.environ['SLURM_JOB_PARTITION'])",
        {
          allowStdin: true,
        },
      );
      const prompts = answerInNotebook(kernel, msgId, loginAnswers(cluster));
      const reply = await kernel.reply(msgId, 90_000);
      prompts.stop();
      expect(reply.content.status).toBe("ok");
      expect(streamText(kernel.iopubFor(msgId))).toBe("amc-general acpu\n");
      kernel.close();
    } finally {
      server.cancelJobs();
      await server.stop();
    }
  }, 180_000);

  test("every question as a flag; an existing file is kept unless --force (then as .bak)", async () => {
    const args = [
      "init",
      "--host",
      "alpine-test-key",
      "--ssh-config",
      cluster.ALPINE_TEST_SSH_CONFIG!,
      "--account",
      "ucb-general",
      "--env",
      "myenv",
      "--work-dir",
      workDir,
      "--yes",
    ];
    const refused = await cli(args, env, { cwd: dir, timeoutMs: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${env.ALPINE_KERNEL_CONFIG} exists already: give --force to replace it`,
    );
    const before = readFileSync(env.ALPINE_KERNEL_CONFIG!, "utf8");
    const r = await cli([...args, "--force"], env, { cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/✓ environment myenv: Python 3\.\d+\.\d+/);
    expect(readFileSync(`${env.ALPINE_KERNEL_CONFIG}.bak`, "utf8")).toBe(before);
    expect(parseConfig(readFileSync(env.ALPINE_KERNEL_CONFIG!, "utf8"), "c")).toMatchObject({
      cluster: { host: "alpine-test-key" },
      slurm: { defaults: "--account ucb-general" },
      environment: { conda_env: "myenv" },
    });
  }, 90_000);

  test.each<[string, string[], RegExp]>([
    [
      "an account that is not yours",
      ["--host", "alpine-test-key", "--account", "nosuch", "--env", "myenv"],
      /you have no association with account 'nosuch': yours are ucb-general, amc-general/,
    ],
    [
      "an environment that is not there",
      ["--host", "alpine-test-key", "--account", "ucb-general", "--env", "nosuch-env"],
      /there is no conda environment 'nosuch-env' \(yours: .*alpine-kernel.*\): give --create-env to build it/,
    ],
    ["a host nobody can reach", ["--host", "nosuch.invalid"], /cannot reach alpineuser@nosuch\.invalid/],
  ])(
    "refuses %s, naming it, and writes nothing",
    async (_what, flags, message) => {
      const target = join(dir, "refused", "config.yaml");
      const r = await cli(
        ["init", "--user", cluster.user, "--ssh-config", cluster.ALPINE_TEST_SSH_CONFIG!, "--yes", ...flags],
        { ...env, ALPINE_KERNEL_CONFIG: target },
        { cwd: dir, timeoutMs: 60_000 },
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(() => statSync(target)).toThrow();
    },
    90_000,
  );
});
