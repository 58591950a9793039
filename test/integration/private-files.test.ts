/**
 * Nothing a cell computes is readable by the other users of a shared cluster (issue 10, defect 5):
 * before, cell code, events, .out/.err, namespace pickles and server.log were written 0644 in 0755
 * directories. Here the work directory lives in a directory every user can enter (as /scratch or a
 * project directory is), and the server runs as the cluster's ordinary user (local transport, and
 * the local backend) or reaches it over SSH. Every directory alpine-kernel made must be 0700, every
 * file 0600 (the runner install read-only: 0400, its entry 0500), the cell's own files follow its
 * umask (077 by default), and another user (`nobody`) must fail to read any of them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { startKernel, WsKernelClient } from "../helpers/ws-client";
import {
  requireCluster,
  slurmConfig,
  sshClusterConfig,
  startSlurmServer,
  streamText,
  type ClusterEnv,
  type SlurmServer,
  type TransportKind,
} from "../helpers/slurm";

jest.setTimeout(180_000);

const OTHER_USER = "nobody";

type Setup = { name: string; transport: TransportKind; config: (c: ClusterEnv, work: string) => string };
/** Where the cells run: the notebook's own folder on the cluster, or (over SSH, from a laptop whose
 * folders the cluster does not have) the notebook's directory under the work directory. */
const cellDir = (transport: TransportKind, project: string, work: string) =>
  transport === "ssh" ? join(work, "notebooks", "secret") : project;
const SETUPS: Setup[] = [
  { name: "slurm backend, on the cluster (local transport)", transport: "local", config: slurmConfig },
  {
    name: "slurm backend, from a laptop over SSH",
    transport: "ssh",
    config: (c, work) => slurmConfig(c, work, sshClusterConfig(c)),
  },
  {
    name: "local backend",
    transport: "local",
    config: (_c, work) => `backend: local\nwork_dir: ${work}\nenvironment:\n  python: /usr/bin/python3\n`,
  },
];

/** Every path under `root`, with its type and permission bits. */
function walk(root: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    out.push({ path: p, dir: st.isDirectory(), mode: st.mode & 0o777 });
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(root);
  return out;
}

const octal = (mode: number) => mode.toString(8).padStart(4, "0");

/** The paths `user` can read (files) or list (directories). */
function readableBy(user: string, paths: { path: string; dir: boolean }[]): string[] {
  return paths
    .filter(({ path, dir }) => {
      const r = spawnSync("runuser", ["-u", user, "--", dir ? "ls" : "cat", "--", path], { stdio: "pipe" });
      if (r.status !== 0 && !/Permission denied/.test(r.stderr.toString()))
        throw new Error(`runuser ${user} on ${path}: ${r.stderr.toString()}`);
      return r.status === 0;
    })
    .map(({ path }) => path);
}

describe.each(SETUPS)("$name: files private to their user", ({ transport, config }) => {
  let cluster: ClusterEnv;
  let shared: string;
  let work: string;
  let project: string;
  let server: SlurmServer;
  let kernel: WsKernelClient;

  beforeAll(async () => {
    cluster = requireCluster();
    const ids = execFileSync("id", ["-u", cluster.user], { encoding: "utf8" }).trim();
    const gid = Number(execFileSync("id", ["-g", cluster.user], { encoding: "utf8" }).trim());
    // A directory every user may enter, as /scratch/alpine or a project directory may be.
    shared = mkdtempSync("/tmp/ak-shared-");
    chmodSync(shared, 0o755);
    chownSync(shared, Number(ids), gid);
    work = join(shared, "alpine-kernel");
    project = join(shared, "project");
    mkdirSync(project, { mode: 0o755 });
    chmodSync(project, 0o755);
    chownSync(project, Number(ids), gid);
    server = await startSlurmServer(cluster, "", config(cluster, work), { transport });
    const id = await startKernel(server, { KERNEL_WORKING_DIR: project, KERNEL_NOTEBOOK: "secret.ipynb" });
    kernel = await WsKernelClient.open(server, id, "v1");
  });
  afterAll(async () => {
    kernel?.close();
    server?.cancelJobs();
    await server?.stop();
    rmSync(shared, { recursive: true, force: true });
  });

  test("session directories 0700, files 0600, the runner read-only; nobody else reads them", async () => {
    const code = [
      "secret = 'the results'",
      "open('result.csv', 'w').write(secret)",
      "import os, sys",
      "print('out'); print('err', file=sys.stderr)",
      "os.system('echo from a subprocess; echo to stderr >&2')",
    ].join("\n");
    const first = await kernel.execute(code, { timeoutMs: 120_000 });
    expect(first.reply.content.status).toBe("ok");
    const second = await kernel.execute("print(secret)", { timeoutMs: 120_000 });
    expect(streamText(second.iopub)).toBe("the results\n");

    const entries = walk(work);
    const names = entries.map((e) => relative(work, e.path));
    // What the two cells left: code, script, events, the job's own stdout/stderr, the namespace.
    for (const suffix of [".py", ".sh", ".events.jsonl", ".out", ".err"])
      expect(names.some((n) => /cells\/0001/.test(n) && n.endsWith(suffix))).toBe(true);
    expect(names.some((n) => n.endsWith("namespace/index.json"))).toBe(true);
    expect(names.some((n) => n.endsWith("alpine_kernel_runner.py"))).toBe(true);

    const wrong = entries
      .filter((e) => {
        if (e.dir) return e.mode !== 0o700;
        // The runner's sources are read-only; Python's own __pycache__ files are private (0600).
        if (/\/runner\/.*\.py$/.test(e.path))
          return e.mode !== (e.path.endsWith("/alpine_kernel_runner.py") ? 0o500 : 0o400);
        return e.mode !== 0o600;
      })
      .map((e) => `${octal(e.mode)} ${relative(work, e.path)}`);
    expect(wrong).toEqual([]);

    // The cell's own file follows the cells' umask (077 unless environment.umask says otherwise).
    const result = join(cellDir(transport, project, work), "result.csv");
    expect(octal(lstatSync(result).mode & 0o777)).toBe("0600");

    // Another user of the cluster can read none of it, although both directories let everyone in.
    expect(readableBy(OTHER_USER, [...entries, { path: result, dir: false }])).toEqual([]);
    // ...and the owner can: the check above is not a check that fails for everyone.
    expect(readableBy(cluster.user, [{ path: result, dir: false }])).toHaveLength(1);
  });

  test("the server's own files: data and runtime directories 0700, log, ledger and runtime file 0600", () => {
    const entries = [...walk(join(server.dir, "data")), ...walk(join(server.dir, "runtime"))].filter(
      (e) => !e.path.startsWith(work),
    );
    expect(entries.map((e) => relative(server.dir, e.path))).toEqual(
      expect.arrayContaining(["data", "data/server.log", "runtime", "runtime/server.json"]),
    );
    const wrong = entries
      .filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
      .map((e) => `${octal(e.mode)} ${relative(server.dir, e.path)}`);
    expect(wrong).toEqual([]);
  });
});
