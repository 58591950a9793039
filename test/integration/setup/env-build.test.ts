/**
 * `alpine-kernel env create|update|list` against the real test cluster, as its ordinary user on the
 * cluster itself (cluster_profile: local): the build is a Slurm job on acompile (sacct shows it), its
 * output streams, the environment it builds runs cells (%slurm --env), and an environment that is
 * not there is reported, before anything is submitted, with the command that creates it.
 */
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliAs } from "../../helpers/cli";
import {
  requireCluster,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../../helpers/slurm";
import { openKernel } from "../../helpers/ssh";

const ENV_NAME = `ak-test-env-${process.pid}-${Date.now() % 100000}`;

function uid(user: string): number {
  return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}

/** sacct's word on a job: partition, name, state. */
function sacctOf(jobId: string): string {
  return execFileSync("sacct", ["-X", "-P", "-n", "-j", jobId, "--format=Partition,JobName,State,Account"], {
    encoding: "utf8",
  }).trim();
}

function removeEnv(cluster: ClusterEnv): void {
  try {
    execFileSync(
      "runuser",
      ["-u", cluster.user, "--", "bash", "-lc", `module load miniforge && conda env remove -n ${ENV_NAME}`],
      {
        stdio: "ignore",
        timeout: 60_000,
      },
    );
  } catch {
    // not built
  }
}

describe("environments built as jobs on acompile", () => {
  let cluster: ClusterEnv;
  let dir: string;
  let env: Record<string, string>;
  const run = (args: string[], timeoutMs = 240_000) =>
    cliAs(cluster.user, args, env, { cwd: dir, timeoutMs });

  beforeAll(() => {
    cluster = requireCluster();
    removeEnv(cluster);
    dir = mkdtempSync(join(tmpdir(), "ak-envbuild-"));
    chownSync(dir, uid(cluster.user), uid(cluster.user));
    const config = join(dir, "config.yaml");
    writeFileSync(
      config,
      `cluster_profile: local\nwork_dir: ${cluster.scratch}/ak-test-envbuild-${process.pid}\n`,
    );
    // The cells' Python needs 3.8+; dill is listed, IPython is not (the command says what that costs).
    writeFileSync(
      join(dir, "environment.yml"),
      `name: ${ENV_NAME}\nchannels:\n  - conda-forge\ndependencies:\n  - python>=3.8\n  - dill\n`,
    );
    writeFileSync(join(dir, "with-ipython.yml"), `dependencies:\n  - python>=3.8\n  - dill\n  - ipython\n`);
    env = {
      ALPINE_KERNEL_CONFIG: config,
      ALPINE_KERNEL_DATA_DIR: join(dir, "data"),
      ALPINE_KERNEL_RUNTIME_DIR: join(dir, "run"),
    };
  });
  afterAll(() => {
    removeEnv(cluster);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${cluster.scratch}/ak-test-envbuild-${process.pid}`, { recursive: true, force: true });
  });

  test("env create builds it as a Slurm job on acompile, streaming its output; sacct shows the job", async () => {
    const r = await run(["env", "create", "--name", ENV_NAME]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Environment file: ${join(dir, "environment.yml")}`);
    expect(r.stderr).toMatch(/it does not list ipython, which cells want/);
    const jobId = /Submitted job (\d+) to acompile/.exec(r.stderr)?.[1];
    expect(jobId).toBeDefined();
    // conda's own words, streamed as the job wrote them
    expect(r.stderr).toMatch(/Solving environment: .*\n[\s\S]*Installing pip dependencies/);
    expect(r.stderr).toMatch(/job \d+ on acompile: running on c3cpu-a1-u1-1/);
    expect(r.stdout).toMatch(
      new RegExp(
        `✓ environment '${ENV_NAME}' ready: Python 3\\.\\d+\\.\\d+ at /home/${cluster.user}/\\.conda/envs/${ENV_NAME}/bin/python \\(IPython ✗, dill ✓\\); job ${jobId} on acompile took (\\d+ s|\\d+:\\d\\d); cells use it with \`%slurm --env ${ENV_NAME}\``,
      ),
    );
    // Not on the login node: Slurm ran it, on acompile, charged to the user's default account.
    expect(sacctOf(jobId!)).toBe(`acompile|ak-env-${ENV_NAME}|COMPLETED|${cluster.account}`);
  }, 300_000);

  test("env list shows it; creating it again is refused with what to run instead", async () => {
    const list = await run(["env", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^  ${ENV_NAME} +/home/${cluster.user}/\\.conda/envs/${ENV_NAME}$`, "m"),
    );
    expect(list.stdout).toMatch(/^\* alpine-kernel +\/opt\/alpine\/conda-envs\/alpine-kernel$/m);
    const again = await run(["env", "create", "--name", ENV_NAME]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`the conda environment '${ENV_NAME}' exists already`);
    expect(again.stderr).toContain(`\`alpine-kernel env update --name ${ENV_NAME}\``);
  });

  test("env update adds what the file lists now (IPython), again as a job", async () => {
    const r = await run(["env", "update", "--name", ENV_NAME, "--file", "with-ipython.yml"]);
    expect(r.code).toBe(0);
    const jobId = /Submitted job (\d+) to acompile/.exec(r.stderr)?.[1];
    expect(r.stdout).toMatch(/ready: Python .* \(IPython ✓, dill ✓\)/);
    expect(sacctOf(jobId!)).toMatch(new RegExp(`^acompile\\|ak-env-${ENV_NAME}\\|COMPLETED\\|`));
  }, 300_000);

  test("a build that fails says why, with conda's last lines: a Python the cluster does not have", async () => {
    writeFileSync(join(dir, "bad.yml"), "dependencies:\n  - python=2.7\n");
    const r = await run(["env", "create", "--name", `${ENV_NAME}-bad`, "--file", "bad.yml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /the environment build \(job \d+ on acompile\) failed: 'conda env create' did not succeed/,
    );
    expect(r.stderr).toContain("PackagesNotFoundError");
  }, 300_000);

  test("bad input: a partition that is not there, a file that is not an environment file", async () => {
    const part = await run(["env", "create", "--name", "x-y", "--partition", "acompil"]);
    expect(part.code).toBe(2);
    expect(part.stderr).toMatch(/no partition 'acompil' — did you mean 'acompile'\?/);
    writeFileSync(join(dir, "notenv.yml"), "just: text\n");
    const file = await run(["env", "create", "--name", "x-y", "--file", "notenv.yml"]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/is not an environment file: it needs a dependencies: list/);
  });

  describe("in a notebook", () => {
    let server: SlurmServer;
    beforeAll(async () => {
      server = await startSlurmServer(cluster);
    });
    afterAll(async () => {
      server?.cancelJobs();
      await server?.stop();
    });

    test("%slurm --env runs the cells in the built environment, and says so once", async () => {
      const kernel = await openKernel(server, "envs.ipynb");
      try {
        expect((await kernel.execute(`%slurm --env ${ENV_NAME}`)).reply.content.status).toBe("ok");
        const r = await kernel.execute("import sys, dill; print(sys.executable)", { timeoutMs: 90_000 });
        expect(r.reply.content.status).toBe("ok");
        expect(streamText(r.iopub).trim()).toBe(`/home/${cluster.user}/.conda/envs/${ENV_NAME}/bin/python`);
        const texts = r.iopub
          .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
          .map((m) => String((m.content.data as Record<string, string>)["text/plain"]));
        expect(texts[0]).toMatch(
          new RegExp(
            `\\ncells run Python 3\\.\\d+\\.\\d+ · /home/${cluster.user}/\\.conda/envs/${ENV_NAME}/bin/python \\(conda env ${ENV_NAME}\\)$`,
          ),
        );
      } finally {
        kernel.close();
      }
    }, 120_000);

    test("an environment that is not there: the command that fixes it, and nothing submitted", async () => {
      const kernel = await openKernel(server, "missing.ipynb");
      try {
        const before = (await server.metrics()).commands.sbatch ?? 0;
        const r = await kernel.execute("%%slurm --env ak-no-such-env\nprint(1)", { timeoutMs: 60_000 });
        expect(r.reply.content).toMatchObject({ status: "error", ename: "EnvironmentMissing" });
        const evalue = String(r.reply.content.evalue);
        expect(evalue).toMatch(
          /the conda environment 'ak-no-such-env' is not on the cluster \(EnvironmentNameNotFound/,
        );
        expect(evalue).toContain("`alpine-kernel env create --name ak-no-such-env`");
        expect(evalue).toMatch(/--env ak-no-such-env\)\n\(nothing was submitted\)$/);
        expect((await server.metrics()).commands.sbatch ?? 0).toBe(before);
        // The notebook's own environment still works.
        expect(streamText((await kernel.execute("print('still fine')", { timeoutMs: 90_000 })).iopub)).toBe(
          "still fine\n",
        );
      } finally {
        kernel.close();
      }
    }, 180_000);
  });
});
