/**
 * Launching the kernel bridge as jupyter_client does (connection file + JPY_PARENT_PID) and the
 * server in the foreground, finding the server a bridge started, and what a process listens on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { CLI, isolatedEnv, requireBuilt, type IsolatedEnv } from "./env";
import { ZmqKernelClient } from "./zmq-client";

export interface ConnectionInfo {
  transport: "tcp";
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name: string;
}

export interface RuntimeInfo {
  url: string;
  port: number;
  token: string;
  pid: number;
}

/** Ports the OS says are free right now (bound to port 0, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A connection file as jupyter_client 7 writes it. */
export async function writeConnectionFile(
  dir: string,
  opts: { key?: string; scheme?: string } = {},
): Promise<{ path: string; info: ConnectionInfo }> {
  const [shell, iopub, stdin, control, hb] = (await freePorts(5)) as [number, number, number, number, number];
  const info: ConnectionInfo = {
    transport: "tcp",
    ip: "127.0.0.1",
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: opts.key ?? randomUUID(),
    signature_scheme: opts.scheme ?? "hmac-sha256",
    kernel_name: "alpine",
  };
  const path = join(dir, `kernel-${randomUUID()}.json`);
  writeFileSync(path, JSON.stringify(info), { mode: 0o600 });
  return { path, info };
}

export interface Spawned {
  proc: ChildProcess;
  pid: number;
  /** Everything written to stderr so far (for failure messages). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

function track(proc: ChildProcess): Spawned {
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    exited,
    alive: () => !done,
    async stop(graceMs = 5000) {
      if (done) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** `alpine-kernel kernel -f FILE`, as kernel.json makes jupyter_client run it. */
export function spawnBridge(
  iso: IsolatedEnv,
  connectionFile: string,
  parentPid: number = process.pid,
): Spawned {
  requireBuilt();
  const proc = spawn(process.execPath, [CLI, "kernel", "-f", connectionFile], {
    env: { ...iso.env, JPY_PARENT_PID: String(parentPid) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return track(proc);
}

/** `alpine-kernel serve` in the foreground (writes the runtime file; no idle exit). */
export function spawnServer(iso: IsolatedEnv, args: string[] = []): Spawned {
  requireBuilt();
  const proc = spawn(process.execPath, [CLI, "serve", ...args], {
    env: iso.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return track(proc);
}

export function runtimeFile(iso: IsolatedEnv): string {
  return join(iso.env.ALPINE_KERNEL_RUNTIME_DIR!, "server.json");
}

export function readRuntime(iso: IsolatedEnv): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(runtimeFile(iso), "utf8")) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The server answering for this isolated environment (runtime file present, pid alive, /api answers). */
export async function waitForServer(
  iso: IsolatedEnv,
  timeoutMs = 20_000,
  notPid?: number,
): Promise<RuntimeInfo> {
  return waitFor(
    "the alpine-kernel server's runtime file",
    async () => {
      const info = readRuntime(iso);
      if (!info || info.pid === notPid || !pidAlive(info.pid)) return undefined;
      try {
        const res = await fetch(`${info.url}/api`, {
          headers: { Authorization: `token ${info.token}` },
          signal: AbortSignal.timeout(1000),
        });
        return res.ok ? info : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** Server processes (`alpine-kernel serve`) whose environment points at this isolated runtime directory. */
export function serverPidsIn(iso: IsolatedEnv): number[] {
  const marker = `ALPINE_KERNEL_RUNTIME_DIR=${iso.env.ALPINE_KERNEL_RUNTIME_DIR}`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (!cmd.includes(CLI) || !cmd.includes("serve")) continue;
      if (readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(marker))
        pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

function hexToAddress(hex: string): string {
  const [addr, port] = hex.split(":") as [string, string];
  if (addr.length === 8) {
    const bytes = addr
      .match(/../g)!
      .reverse()
      .map((b) => parseInt(b, 16));
    return `${bytes.join(".")}:${parseInt(port, 16)}`;
  }
  // IPv6: four little-endian 32-bit words
  const words = addr.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(""));
  return `[${words.join("").match(/.{4}/g)!.join(":")}]:${parseInt(port, 16)}`;
}

/** Local addresses of the TCP sockets a process is listening on, read from /proc. */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A = LISTEN
      if (inodes.has(f[9]!)) out.push(hexToAddress(f[1]!));
    }
  }
  return out;
}

/** A kernel as Jupyter launches one: connection file, the bridge, a ZeroMQ client that saw it answer. */
export async function launchKernel(iso: IsolatedEnv): Promise<{ bridge: Spawned; client: ZmqKernelClient }> {
  const { path, info } = await writeConnectionFile(iso.dir);
  const bridge = spawnBridge(iso, path);
  const client = new ZmqKernelClient(info);
  await client.waitForReady(30_000).catch((err: Error) => {
    throw new Error(`${err.message}\nbridge output:\n${bridge.output()}`);
  });
  return { bridge, client };
}

/** Resident memory of a process, in MiB (Linux /proc). */
export function rssMib(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

/**
 * One kernel launched as Jupyter launches it, for all the tests of a file: started in beforeAll,
 * stopped in afterAll; read its parts through the returned object once beforeAll has run.
 */
export function kernelForThisFile(configYaml: string): {
  readonly iso: IsolatedEnv;
  readonly bridge: Spawned;
  readonly client: ZmqKernelClient;
  readonly server: RuntimeInfo;
} {
  const k: { iso?: IsolatedEnv; bridge?: Spawned; client?: ZmqKernelClient; server?: RuntimeInfo } = {};
  beforeAll(async () => {
    k.iso = isolatedEnv(configYaml);
    ({ bridge: k.bridge, client: k.client } = await launchKernel(k.iso));
    k.server = await waitForServer(k.iso);
  });
  afterAll(async () => {
    k.client?.close();
    await k.bridge?.stop();
    k.iso?.cleanup();
  });
  return {
    get iso() {
      return k.iso!;
    },
    get bridge() {
      return k.bridge!;
    },
    get client() {
      return k.client!;
    },
    get server() {
      return k.server!;
    },
  };
}
