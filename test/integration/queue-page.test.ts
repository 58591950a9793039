/**
 * The jobs of every notebook outside JupyterLab, against `alpine-kernel serve` (local backend, a
 * real server process): `serve` names its runtime file, `alpine-kernel open --print` the page's
 * address; GET /api/jobs, GET /metrics (Prometheus text), cancel and output tail over REST; the
 * queue page in headless Chromium, live (a cell appears running and turns COMPLETED without a
 * reload, cancel from the page); its WebSocket refuses foreign origins and missing tokens; %squeue
 * says "run N" after a restart and that FAILED was the cell's own error.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import WebSocket from "ws";
import type { JobsList, OutputTail } from "../../src/server/api-types";
import { CLI, ROOT, isolatedEnv, requireBuilt, requireProgram, type IsolatedEnv } from "../helpers/env";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/jupyterlab";
import {
  runtimeFile,
  spawnServer,
  waitFor,
  waitForServer,
  type RuntimeInfo,
  type Spawned,
} from "../helpers/processes";
import { WsKernelClient, auth, startKernel } from "../helpers/ws-client";

const ARTIFACTS = join(ROOT, "test-artifacts");

describe("the queue page, /api/jobs and /metrics (local backend)", () => {
  let iso: IsolatedEnv;
  let server: Spawned;
  let info: RuntimeInfo;
  let browser: Browser;
  let kernel: WsKernelClient;
  let kernelId: string;

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${info.url}${path}`, { headers: auth(info) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const jobs = () => get<JobsList>("/api/jobs");
  const execute = async (code: string) => {
    const id = await kernel.send("shell", "execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    return id;
  };

  beforeAll(async () => {
    requireBuilt();
    requireProgram(CHROMIUM, "apt-get install chromium");
    requireProgram("/usr/bin/python3", "Debian's python3 runs the cells");
    iso = isolatedEnv(`backend: local\nenvironment:\n  python: /usr/bin/python3\n`);
    server = spawnServer(iso);
    info = await waitForServer(iso);
    kernelId = await startKernel(info, { KERNEL_WORKING_DIR: iso.dir, KERNEL_NOTEBOOK: "analysis.ipynb" });
    kernel = await WsKernelClient.open(info, kernelId, "v1");
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    kernel?.close();
    await server?.stop();
    iso?.cleanup();
  });

  test("serve names its runtime file; open --print the page's address with the token", async () => {
    await waitFor("serve's banner", () => (server.output().includes("its token is in") ? true : undefined));
    expect(server.output()).toContain(`its token is in ${runtimeFile(iso)} (mode 0600)`);
    const out = execFileSync(process.execPath, [CLI, "open", "--print"], { env: iso.env, encoding: "utf8" });
    expect(out.trim()).toBe(`${info.url}/queue?token=${info.token}`);
  });

  test("every request needs the token: /api/jobs, /metrics, /queue", async () => {
    // One retry: a pooled keep-alive connection the server closed as it was reused fails at once.
    const status = (path: string) =>
      fetch(`${info.url}${path}`)
        .catch(() => fetch(`${info.url}${path}`))
        .then((r) => r.status);
    for (const path of ["/api/jobs", "/metrics", "/queue"]) expect(await status(path)).toBe(403);
  });

  test("a cell in /api/jobs while it runs and once it ended; its tail; metrics count it", async () => {
    const id = await execute("import time\nprint('tick', flush=True)\ntime.sleep(1.5)\nprint('tock')");
    const running = await waitFor("the cell in /api/jobs", async () =>
      (await jobs()).jobs.find((j) => j.firstLine === "import time" && j.phase !== "queued"),
    );
    expect(running).toMatchObject({ notebook: "analysis.ipynb", executionCount: 1, detached: false, run: 1 });
    await kernel.reply(id, 30_000);
    const ended = (await jobs()).jobs.find((j) => j.id === running.id)!;
    expect(ended).toMatchObject({
      phase: "ended",
      state: "COMPLETED",
      end: { outcome: "completed", exitCode: "0:0" },
    });
    const tail = await get<OutputTail>(`/api/jobs/${encodeURIComponent(ended.id)}/tail?lines=1`);
    expect(tail).toMatchObject({ text: "tock", lines: 2, ended: true });
    const bad = await fetch(`${info.url}/api/jobs/${encodeURIComponent(ended.id)}/tail?lines=0`, {
      headers: auth(info),
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${info.url}/api/jobs/nope%2F1/tail`, { headers: auth(info) })).status).toBe(404);

    const res = await fetch(`${info.url}/metrics`, { headers: auth(info) });
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE alpine_kernel_cells gauge$/m);
    expect(text).toMatch(/^alpine_kernel_cells\{state="COMPLETED"\} 1$/m);
    expect(text).toMatch(/^alpine_kernel_cluster_commands_total\{command="bash"\} \d+$/m);
    expect(text).toMatch(/^alpine_kernel_cell_output_bytes_total (\d+)$/m);
    expect(Number(/^alpine_kernel_cell_output_bytes_total (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(9);
    expect(text).toMatch(/^alpine_kernel_ssh_reconnects_total 0$/m);
  });

  test("the feed's WebSocket: token and same origin required", async () => {
    const ws = `${info.url.replace(/^http/, "ws")}/api/jobs/feed`;
    const status = (url: string, headers: Record<string, string>) =>
      new Promise<number | "open">((resolve) => {
        const s = new WebSocket(url, { headers });
        s.once("open", () => {
          s.close();
          resolve("open");
        });
        s.once("unexpected-response", (_req, r) => resolve(r.statusCode ?? 0));
        s.once("error", () => {});
      });
    expect(await status(ws, {})).toBe(403);
    expect(await status(`${ws}?token=${info.token}`, { Origin: "http://evil.example" })).toBe(403);
    expect(await status(`${ws}?token=${info.token}`, { Origin: "null" })).toBe(403);
    expect(await status(`${ws}?token=${info.token}`, { Origin: info.url })).toBe("open");
    expect(await status(`${ws}?token=${info.token}`, {})).toBe("open");
  });

  test("the page in Chromium: live rows, COMPLETED without a reload, cancel from the page", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
    page.on("dialog", (d) => void d.accept());
    try {
      await page.goto(`${info.url}/queue?token=${info.token}`);
      await page.waitForSelector("#summary:has-text('running')");
      await execute("%%slurm --detach\nimport time\ntime.sleep(60)\nprint('never')");
      const quick = await execute("import os\nimport time\ntime.sleep(3)\nprint('page done')");
      const live = await waitFor("the cell running in /api/jobs", async () =>
        (await jobs()).jobs.find((j) => j.firstLine === "import os" && j.phase === "running"),
      );
      await page.waitForSelector(`tr[data-job-id="${live.jobId}"].running`, { timeout: 30_000 });
      await page.screenshot({ path: join(ARTIFACTS, "queue-page-running.png") });
      await kernel.reply(quick, 30_000);
      await page.waitForSelector(`tr[data-job-id="${live.jobId}"].ended.completed`, { timeout: 30_000 });
      // The detached one: cancel from the page (confirm() accepted), the row says CANCELLED.
      const detached = (await jobs()).jobs.find((j) => j.detached && j.phase !== "ended")!;
      await page.locator(`tr[data-job-id="${detached.jobId}"] button`, { hasText: "Cancel" }).click();
      await page.waitForSelector(`tr[data-job-id="${detached.jobId}"].ended`, { timeout: 30_000 });
      expect(await page.locator(`tr[data-job-id="${detached.jobId}"]`).innerText()).toMatch(/CANCELLED/);
      expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);
      await page.screenshot({ path: join(ARTIFACTS, "queue-page-ended.png") });
    } finally {
      await page.close();
    }
  });

  test("%squeue: 'run N' tells a restarted kernel's cells apart; FAILED says it was the cell's error", async () => {
    const fail = await execute("raise ValueError('mine')");
    await kernel.reply(fail, 30_000);
    const restart = await kernel.send("control", "shutdown_request", { restart: true });
    await kernel.reply(restart, 30_000);
    await kernel.reply(await execute("x = 1"), 30_000);
    const q = await execute("%squeue");
    await kernel.reply(q, 30_000);
    const table = kernel.received.find(
      (m) => m.parent_header.msg_id === q && m.header.msg_type === "display_data",
    )!.content as { data: Record<string, string> };
    const text = table.data["text/plain"]!;
    expect(text).toMatch(/run N: the Nth start of this notebook's kernel/);
    expect(text).toMatch(/\d+ \(run 1\)\s+\S+\s+FAILED \(cell raised ValueError\)/);
    expect(text).toMatch(/1 \(run 2\)\s+\S+\s+COMPLETED/);
    expect(text).toMatch(/FAILED \(cell raised …\): the cell's own Python error/);
  });
});
