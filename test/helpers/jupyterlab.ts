/**
 * Real JupyterLab 4.6.4 for browser tests, run as the test cluster's ordinary user: the venv of
 * scripts/jupyterlab-venv.sh (made once, from the local wheel mirror), its own Jupyter data,
 * config and runtime directories, and either the alpine kernelspec (JupyterLab launches the kernel
 * bridge, which finds the user's server) or --gateway-url to the server itself.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI, ROOT } from "./env";
import { freePorts } from "./processes";
import type { ClusterEnv, SlurmServer } from "./slurm";

export const CHROMIUM = "/usr/bin/chromium";
// Needed to run as root, headless, offline (see the test cluster's README).
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The JupyterLab venv's path, made by scripts/jupyterlab-venv.sh when missing (about a minute). */
export function jupyterLabVenv(): string {
  return execFileSync("bash", [join(ROOT, "scripts", "jupyterlab-venv.sh")], {
    encoding: "utf8",
    timeout: 600_000,
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

export interface JupyterLab {
  url: string;
  token: string;
  notebookDir: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface LabOptions {
  /** Talk to the alpine-kernel server as a gateway instead of launching the kernelspec. */
  gateway?: boolean;
  /** Notebooks to create in the root directory: file name → cell sources (first cell markdown if it starts with "#"). */
  notebooks: Record<string, string[]>;
}

function notebookJson(cells: string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "alpine", display_name: "Python (Alpine)", language: "python" },
      language_info: { name: "python" },
    },
    cells: cells.map((source, i) =>
      source.startsWith("#")
        ? { id: `cell-${i}`, cell_type: "markdown", metadata: {}, source }
        : { id: `cell-${i}`, cell_type: "code", metadata: {}, source, outputs: [], execution_count: null },
    ),
  });
}

/**
 * Starts JupyterLab as the cluster's user beside `server` (same ALPINE_KERNEL_* environment, so
 * the kernel bridge finds it), with the kernelspec and the JupyterLab extension installed by
 * `alpine-kernel install` (the extension alone in gateway mode: the gateway lists the kernel).
 */
export async function startJupyterLab(
  cluster: ClusterEnv,
  server: SlurmServer,
  name: string,
  opts: LabOptions,
): Promise<JupyterLab> {
  const venv = jupyterLabVenv();
  const uid = Number(execFileSync("id", ["-u", cluster.user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", cluster.user], { encoding: "utf8" }).trim());
  const base = join(server.dir, name);
  const dirs = {
    JUPYTER_DATA_DIR: join(base, "data"),
    JUPYTER_CONFIG_DIR: join(base, "config"),
    JUPYTER_RUNTIME_DIR: join(base, "runtime"),
  };
  const notebookDir = join(base, "notebooks");
  for (const d of [base, ...Object.values(dirs), notebookDir, join(dirs.JUPYTER_CONFIG_DIR, "labconfig")]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, uid, gid);
  }
  // No "news from Jupyter?" question in the notification area: the tests read notifications.
  const pageConfig = join(dirs.JUPYTER_CONFIG_DIR, "labconfig", "page_config.json");
  writeFileSync(
    pageConfig,
    JSON.stringify({ disabledExtensions: { "@jupyterlab/apputils-extension:announcements": true } }),
  );
  chownSync(pageConfig, uid, gid);
  for (const [file, cells] of Object.entries(opts.notebooks)) {
    const p = join(notebookDir, file);
    writeFileSync(p, notebookJson(cells));
    chownSync(p, uid, gid);
  }
  const env: Record<string, string> = {
    ...(server.cliEnv as Record<string, string>),
    ...dirs,
    JUPYTER_PATH: "",
    JUPYTER_PLATFORM_DIRS: "1",
    PATH: `${join(venv, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
  };
  const asUser = (argv: string[]) => [
    "-u",
    cluster.user,
    "--",
    "env",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
  execFileSync("runuser", asUser([process.execPath, CLI, "install", "--user"]), { stdio: "pipe" });
  const [port] = (await freePorts(1)) as [number];
  const token = randomBytes(16).toString("hex");
  const logFile = join(base, "jupyterlab.log");
  const args = [
    join(venv, "bin", "jupyter-lab"),
    "--no-browser",
    `--port=${port}`,
    "--port-retries=0",
    "--ip=127.0.0.1",
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${notebookDir}`,
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ...(opts.gateway ? [`--gateway-url=${server.url}`, `--GatewayClient.auth_token=${server.token}`] : []),
  ];
  const proc = spawn("runuser", asUser(args), { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${url}/api/kernelspecs`, { headers: { Authorization: `token ${token}` } })
      .then(async (r) => r.ok && JSON.stringify(await r.json()).includes('"alpine"'))
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline || proc.exitCode !== null)
      throw new Error(`JupyterLab (${name}) did not start:\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    token,
    notebookDir,
    proc,
    log: () => output + (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const kill = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(kill);
    },
  };
}
