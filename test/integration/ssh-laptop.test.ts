/**
 * A researcher's laptop reaching the cluster over SSH: a home of its own with a plain
 * `~/.ssh/config` (`Host alpine`, key login), notebooks in a folder the cluster cannot see (root's,
 * 0700: on the real Alpine it would not exist at all). Cells run in the notebook's directory on the
 * cluster (`cluster.notebook_dir`), created on first use and named in the first status line;
 * `os.getcwd()` agrees; the whole conformance suite passes over SSH from that folder; files go up
 * and down with %upload / %download (50 MB, checksums checked), never overwritten without --force;
 * `alpine-kernel files` lists the notebook's directory.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectWholeSuitePassed, runConformance } from "../helpers/conformance";
import { CLI, installKernelSpec, isolatedEnv, type IsolatedEnv } from "../helpers/env";
import {
  requireCluster,
  slurmConfig,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
} from "../helpers/slurm";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

let cluster: ClusterEnv;
/** The laptop: root's, unreadable by the cluster's user. */
let laptop: string;
let home: string;
let notebooks: string;
/** The work directory as configured ($USER is the cluster's) and as it is on the cluster. */
let workDirTemplate: string;
let workDir: string;

function laptopHome(dir: string): string {
  const h = join(dir, "home");
  mkdirSync(join(h, ".ssh"), { recursive: true, mode: 0o700 });
  copyFileSync(cluster.ALPINE_TEST_KEY!, join(h, ".ssh", "id_ed25519"));
  execFileSync("chmod", ["600", join(h, ".ssh", "id_ed25519")]);
  copyFileSync(cluster.ALPINE_TEST_KNOWN_HOSTS!, join(h, ".ssh", "known_hosts"));
  writeFileSync(
    join(h, ".ssh", "config"),
    [
      "Host alpine",
      "    HostName 127.0.0.1",
      `    Port ${cluster.ALPINE_TEST_PORT_KEY ?? 2222}`,
      `    User ${cluster.user}`,
      "    IdentityFile ~/.ssh/id_ed25519",
      "",
    ].join("\n"),
  );
  return h;
}

function config(statusLine = true): string {
  const yaml = slurmConfig(cluster, workDirTemplate, "cluster:\n  transport: ssh\n  host: alpine\n");
  // The status line is an extra display output of each cell, which jupyter_kernel_test's strict
  // checks (exactly one output for an error) count: off, the cells send what ipykernel sends.
  return statusLine ? yaml : yaml.replace("slurm:\n", "slurm:\n  status_line: false\n");
}

beforeAll(() => {
  cluster = requireCluster();
  laptop = mkdtempSync(join(tmpdir(), "ak-laptop-")); // 0700, root's
  home = laptopHome(laptop);
  notebooks = join(home, "notebooks");
  mkdirSync(notebooks);
  const name = `ak-laptop-${Date.now()}-${randomBytes(3).toString("hex")}`;
  workDirTemplate = `/scratch/alpine/$USER/${name}`;
  workDir = join(cluster.scratch, name);
});

afterAll(() => {
  rmSync(laptop, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

test("the laptop's notebook folder is out of the cluster user's reach (the premise of these tests)", () => {
  const r = spawnSync("runuser", ["-u", cluster.user, "--", "ls", notebooks], { encoding: "utf8" });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/Permission denied/);
});

describe("the conformance suite over SSH, run from the laptop's notebook folder", () => {
  let iso: IsolatedEnv;
  beforeAll(() => {
    iso = isolatedEnv(config(false));
    iso.env.HOME = home;
    delete iso.env.SSH_AUTH_SOCK;
    installKernelSpec(iso.env);
  });
  afterAll(() => iso.cleanup());

  test("KernelTests pass whole, with ipykernel's samples and with ours", () => {
    expectWholeSuitePassed(runConformance(iso.env, { cwd: notebooks, timeoutMs: 420_000 }));
  }, 480_000);
});

describe("a notebook opened on the laptop", () => {
  let server: SlurmServer;
  let kernel: WsKernelClient;
  const cellsDir = () => join(workDir, "notebooks", "analysis");

  beforeAll(async () => {
    server = await startSlurmServer(cluster, "", config(), { transport: "ssh", env: { HOME: home } });
    const id = await startKernel(server, {
      KERNEL_WORKING_DIR: notebooks,
      KERNEL_NOTEBOOK: "analysis.ipynb",
    });
    kernel = await WsKernelClient.open(server, id, "v1");
  });
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
  });

  const lastStatus = (iopub: WireMessage[]) =>
    iopub
      .filter((m) => ["display_data", "update_display_data"].includes(m.header.msg_type))
      .map((m) => String((m.content.data as Record<string, string>)["text/plain"]))
      .filter((t) => /job \d+/.test(t))
      .at(-1) ?? "";

  test("cells run in the notebook's directory on the cluster, created on first use and named in the first status line", async () => {
    const first = await kernel.execute("import os\nprint(os.getcwd())", { timeoutMs: 120_000 });
    expect(first.reply.content.status).toBe("ok");
    expect(streamText(first.iopub).trim()).toBe(cellsDir());
    expect(lastStatus(first.iopub)).toContain(`this notebook's cells run in ${cellsDir()} on the cluster`);
    const second = await kernel.execute("print(os.getcwd())", { timeoutMs: 120_000 });
    expect(streamText(second.iopub).trim()).toBe(cellsDir());
    expect(lastStatus(second.iopub)).not.toContain("cells run in"); // said once per session
  }, 240_000);

  test("%upload and %download: 50 MB up and back, checksums equal, nothing overwritten without --force", async () => {
    const data = randomBytes(50 << 20);
    const sha = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(notebooks, "cohort.bin"), data);

    const up = await kernel.execute("%upload cohort.bin", { timeoutMs: 180_000 });
    expect(up.reply.content).toMatchObject({ status: "ok" });
    const lines = up.iopub
      .filter((m) => ["display_data", "update_display_data"].includes(m.header.msg_type))
      .map((m) => String((m.content.data as Record<string, string>)["text/plain"]));
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^✓ .*cohort\\.bin → ${cellsDir()}/cohort\\.bin \\(52\\.4 MB, [\\d.]+ s, sha256 ${sha.slice(0, 12)}… checked on both sides\\)$`,
      ),
    );
    expect(lines.some((l) => /^⇡ cohort\.bin → cluster: .* of 52\.4 MB \(\d+%\)/.test(l))).toBe(true);

    // The cell sees the file where it runs, whole.
    const check = await kernel.execute(
      "import hashlib\nprint(hashlib.sha256(open('cohort.bin', 'rb').read()).hexdigest())",
      { timeoutMs: 120_000 },
    );
    expect(streamText(check.iopub).trim()).toBe(sha);

    const again = await kernel.execute("%upload cohort.bin", { timeoutMs: 60_000 });
    expect(again.reply.content).toMatchObject({ status: "error", ename: "BadTransfer" });
    expect(String(again.reply.content.evalue)).toMatch(
      /cohort\.bin already exists on the cluster; add --force to replace it/,
    );
    const forced = await kernel.execute("%upload --force cohort.bin data/", { timeoutMs: 180_000 });
    expect(forced.reply.content).toMatchObject({ status: "ok" });

    const made = await kernel.execute("open('results.csv', 'w').write('a,b\\n1,2\\n')", {
      timeoutMs: 120_000,
    });
    expect(made.reply.content.status).toBe("ok");
    const down = await kernel.execute("%download results.csv", { timeoutMs: 60_000 });
    expect(down.reply.content).toMatchObject({ status: "ok" });
    expect(readFileSync(join(notebooks, "results.csv"), "utf8")).toBe("a,b\n1,2\n");
    const big = await kernel.execute("%download data/cohort.bin back.bin", { timeoutMs: 180_000 });
    expect(big.reply.content).toMatchObject({ status: "ok" });
    expect(
      createHash("sha256")
        .update(readFileSync(join(notebooks, "back.bin")))
        .digest("hex"),
    ).toBe(sha);
    const twice = await kernel.execute("%download results.csv", { timeoutMs: 60_000 });
    expect(String(twice.reply.content.evalue)).toMatch(
      /results\.csv already exists on this machine; add --force/,
    );

    const missing = await kernel.execute("%upload no-such-file.csv", { timeoutMs: 60_000 });
    expect(String(missing.reply.content.evalue)).toMatch(/no file no-such-file\.csv on this machine/);
    const usage = await kernel.execute("%download", { timeoutMs: 60_000 });
    expect(usage.reply.content).toMatchObject({ status: "error", ename: "MagicError" });
    expect(String(usage.reply.content.evalue)).toMatch(/usage: %download \[--force\] PATH \[DEST\]/);
  }, 600_000);

  test("alpine-kernel files lists the notebook's directory on the cluster", () => {
    const r = spawnSync(process.execPath, [CLI, "files", "analysis"], {
      env: server.cliEnv,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(cellsDir());
    expect(r.stdout).toMatch(/ {2}cohort\.bin +50\.0M /);
    expect(r.stdout).toMatch(/ {2}data\/ /);
    expect(r.stdout).toMatch(/ {2}results\.csv +8 B /);
    const all = spawnSync(process.execPath, [CLI, "files"], {
      env: server.cliEnv,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(all.stdout.split("\n")[0]).toBe(join(workDir, "notebooks"));
    expect(all.stdout).toMatch(/ {2}analysis\//);
  }, 120_000);
});
