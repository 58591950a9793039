/**
 * A user's view: classic Jupyter Notebook 6 (Debian) in headless Chromium, driven by playwright-core.
 * New → "Python (Alpine)", run a cell that prints a line every 0.7 s, and watch the lines appear one
 * by one in the page. Twice: (a) Notebook launches the kernelspec (ZMQ bridge → server), (b) Notebook
 * with --gateway-url talks to `alpine-kernel serve` over the legacy JSON WebSocket framing.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync, readFileSync, existsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium, type Browser } from "playwright-core";
import {
  CLI,
  ROOT,
  installKernelSpec,
  isolatedEnv,
  requireBuilt,
  requireProgram,
  type IsolatedEnv,
} from "../helpers/env";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/jupyterlab";

const JUPYTER = "/usr/bin/jupyter";
const ARTIFACTS = join(ROOT, "test-artifacts");
const CONFIG = "backend: local\nenvironment:\n  python: /usr/bin/python3\n";
// One line every 0.7 s for ~4.2 s; single-line loop so nothing depends on the editor's auto-indent.
const STREAMING_CELL =
  'import time\nfor i in range(6): print(f"line {i}", flush=True); time.sleep(0.7)\nprint("done")';
const FINAL_OUTPUT = "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\ndone";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Processes this file started, stopped by PID in afterAll. */
const children: { name: string; proc: ChildProcess; log: string }[] = [];

function startProcess(
  name: string,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
): ChildProcess {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, "a");
  const proc = spawn(file, args, { env, cwd: logDir, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  children.push({ name, proc, log });
  return proc;
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  process.kill(proc.pid, "SIGTERM");
  const timer = setTimeout(
    () => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, "SIGKILL"),
    5000,
  );
  await exited;
  clearTimeout(timer);
}

const logOf = (name: string) => {
  const c = children.find((x) => x.name === name);
  return c && existsSync(c.log) ? readFileSync(c.log, "utf8").slice(-4000) : "(no log)";
};

/** Polls until `check` returns a value; fails with the process's log when it does not in time. */
async function waitFor<T>(
  what: string,
  logName: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `${what} did not happen within ${timeoutMs / 1000} s; log of ${logName}:\n${logOf(logName)}`,
  );
}

/** Starts `jupyter notebook` and waits until it lists the alpine kernelspec. */
async function startNotebook(name: string, iso: IsolatedEnv, extra: string[]): Promise<string> {
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const dir = join(iso.dir, "notebooks");
  mkdirSync(dir, { recursive: true });
  startProcess(
    name,
    JUPYTER,
    [
      "notebook",
      "--no-browser",
      "--allow-root",
      `--port=${port}`,
      "--port-retries=0",
      "--ip=127.0.0.1",
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${dir}`,
      ...extra,
    ],
    iso.env,
    iso.dir,
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${name} listing the alpine kernelspec`, name, async () => {
    const res = await fetch(`${base}/api/kernelspecs`, { headers: { Authorization: `token ${token}` } });
    const body = (await res.json()) as { kernelspecs?: Record<string, unknown> };
    return body.kernelspecs?.alpine ? true : undefined;
  });
  return `${base}/tree?token=${token}`;
}

interface Sample {
  t: number;
  text: string;
}

/** New → Python (Alpine), run the streaming cell, sample the output area every 50 ms. */
async function runStreamingCell(browser: Browser, treeUrl: string, screenshot: string) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 620 } });
  try {
    const tree = await context.newPage();
    await tree.goto(treeUrl);
    await tree.click("#new-dropdown-button");
    const [nb] = await Promise.all([context.waitForEvent("page"), tree.click("#kernel-alpine a")]);
    await nb.waitForLoadState();
    await nb.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 30_000 });
    const kernelName = (await nb.textContent(".kernel_indicator_name"))?.trim();

    await nb.click(".cell .CodeMirror");
    await nb.keyboard.insertText(STREAMING_CELL);
    // Sample what the user sees in the first cell's stream output, in the page itself (the first
    // cell of a session also shows a line saying which Python runs the cells, above it).
    await nb.evaluate(() => {
      const w = window as unknown as { __samples: { t: number; text: string }[] };
      w.__samples = [];
      const t0 = performance.now();
      setInterval(() => {
        const out = document.querySelector(".cell .output_subarea.output_stdout") as HTMLElement | null;
        w.__samples.push({ t: (performance.now() - t0) / 1000, text: out?.innerText ?? "" });
      }, 50);
    });
    await nb.keyboard.press("Shift+Enter");
    // What the user sees while the cell runs: some lines, the busy prompt.
    await nb.waitForFunction(() => {
      const out =
        (document.querySelector(".cell .output_subarea.output_stdout") as HTMLElement | null)?.innerText ??
        "";
      return out.includes("line 2") && !out.includes("done");
    });
    await nb.screenshot({ path: screenshot.replace(/\.png$/, "-running.png"), fullPage: true });
    // Done when the sampler has seen the last line and the prompt shows the execution count.
    await nb.waitForFunction(
      () => {
        const w = window as unknown as { __samples: { t: number; text: string }[] };
        const prompt = document.querySelector(".cell .input_prompt")?.textContent ?? "";
        return /\[1\]/.test(prompt) && w.__samples.some((s) => s.text.includes("done"));
      },
      undefined,
      { timeout: 30_000 },
    );
    const samples = await nb.evaluate(
      () => (window as unknown as { __samples: { t: number; text: string }[] }).__samples,
    );
    const prompt = (await nb.textContent(".cell .input_prompt"))?.replace(/\s+/g, " ").trim();
    const finalText = await nb.innerText(".cell .output_subarea.output_stdout");
    await nb.screenshot({ path: screenshot, fullPage: true });
    return { kernelName, prompt, finalText, samples: samples as Sample[] };
  } finally {
    await context.close();
  }
}

/** The distinct output states seen before the last line arrived, each a prefix of the final output. */
function expectIncremental(samples: Sample[], finalText: string): void {
  const normal = (s: string) => s.replace(/\r/g, "").trim();
  const distinct: Sample[] = [];
  for (const s of samples) {
    const text = normal(s.text);
    if (text && text !== normal(distinct[distinct.length - 1]?.text ?? "")) distinct.push({ t: s.t, text });
  }
  expect(normal(finalText)).toBe(FINAL_OUTPUT);
  const partial = distinct.filter((s) => !s.text.includes("done"));
  for (const s of partial) expect(FINAL_OUTPUT.startsWith(s.text)).toBe(true);
  expect(partial.length).toBeGreaterThanOrEqual(3);
  // Spread over the run (0.7 s per line), not a burst at the end.
  const done = distinct.find((s) => s.text.includes("done"))!;
  expect(done.t - partial[0]!.t).toBeGreaterThan(2.0);
}

describe("Notebook 6 in headless Chromium", () => {
  let browser: Browser;
  const envs: IsolatedEnv[] = [];

  beforeAll(async () => {
    requireBuilt();
    requireProgram(CHROMIUM, "apt-get install chromium");
    requireProgram("/usr/bin/jupyter-notebook", "apt-get install jupyter-notebook");
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    for (const c of children.reverse()) await stopProcess(c.proc);
    for (const iso of envs) iso.cleanup();
  });

  test("(a) kernelspec (ZMQ bridge): output lines arrive one by one", async () => {
    const iso = isolatedEnv(CONFIG);
    envs.push(iso);
    installKernelSpec(iso.env);
    const url = await startNotebook("notebook-kernelspec", iso, []);
    const r = await runStreamingCell(browser, url, join(ARTIFACTS, "notebook-streaming.png"));
    expect(r.kernelName).toBe("Python (Alpine)");
    expect(r.prompt).toBe("In [1]:");
    expectIncremental(r.samples, r.finalText);
  });

  test("(b) --gateway-url to alpine-kernel serve (legacy JSON framing): output lines arrive one by one", async () => {
    const iso = isolatedEnv(CONFIG);
    envs.push(iso);
    // No kernelspec installed: Notebook gets "Python (Alpine)" from the gateway's /api/kernelspecs.
    const serverLog = join(iso.dir, "alpine-server.log");
    startProcess(
      "alpine-kernel-serve",
      process.execPath,
      [CLI, "serve", "--port", String(await freePort()), "--log-file", serverLog],
      iso.env,
      iso.dir,
    );
    const runtimeFile = join(iso.env.ALPINE_KERNEL_RUNTIME_DIR!, "server.json");
    const server = await waitFor(
      "alpine-kernel serve writing its runtime file",
      "alpine-kernel-serve",
      async () =>
        existsSync(runtimeFile)
          ? (JSON.parse(readFileSync(runtimeFile, "utf8")) as { url: string; token: string })
          : undefined,
    );
    const url = await startNotebook("notebook-gateway", iso, [
      `--gateway-url=${server.url}`,
      `--GatewayClient.auth_token=${server.token}`,
    ]);
    const r = await runStreamingCell(browser, url, join(ARTIFACTS, "notebook-streaming-gateway.png"));
    expect(r.kernelName).toBe("Python (Alpine)");
    expect(r.prompt).toBe("In [1]:");
    expectIncremental(r.samples, r.finalText);

    // The gateway client offered no subprotocol: the server spoke legacy JSON to it, never v1.
    const connections = readFileSync(serverLog, "utf8")
      .split("\n")
      .filter((l) => l.includes('"channels connected"'))
      .map((l) => (JSON.parse(l) as { framing: string }).framing);
    expect(connections.length).toBeGreaterThanOrEqual(1);
    expect(new Set(connections)).toEqual(new Set(["legacy"]));
  });
});
