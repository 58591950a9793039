/**
 * A user's view of the Alpine jobs panel, in real JupyterLab 4.6.4 in headless Chromium, on the
 * test cluster as its ordinary user: two notebooks, a detached cell held in the queue (--begin)
 * and an attached one running; the panel lists both, the status bar counts them, a notification
 * says when the held cell starts and when it ends, both turn COMPLETED without a reload, a queued
 * cell is cancelled from the panel (squeue confirms), a row jumps to its cell, and an allocation
 * held by B has its own row with the time left and is released from it. Twice: (a)
 * JupyterLab launches the kernelspec (ZMQ bridge → server), (b) JupyterLab with --gateway-url to
 * the server. Screenshots go to test-artifacts/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT, requireBuilt, requireProgram } from "../helpers/env";
import { CHROMIUM, CHROMIUM_ARGS, startJupyterLab, type JupyterLab } from "../helpers/jupyterlab";
import { requireCluster, startSlurmServer, type ClusterEnv, type SlurmServer } from "../helpers/slurm";

const ARTIFACTS = join(ROOT, "test-artifacts");
const HELD = "%%slurm --detach --begin now+1hour\nprint('held cell done')";
const TO_CANCEL = "%%slurm --detach --begin now+1hour\nprint('never runs')";
const RUNNING = "import time\nprint('B is running', flush=True)\ntime.sleep(30)\nprint('B done')";

const squeueHas = (jobId: string) =>
  execFileSync("squeue", ["-h", "-o", "%i", "-j", jobId], { encoding: "utf8" }).trim() === jobId;

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

/** The rows of the panel: data-job-id, classes and text. */
async function rows(page: Page) {
  return page.$$eval(".ak-job", (els) =>
    els.map((e) => ({
      jobId: (e as HTMLElement).dataset.jobId ?? "",
      cls: e.className,
      text: (e as HTMLElement).innerText,
    })),
  );
}

async function waitForKernelIdle(page: Page) {
  // The kernel answered kernel_info and the extension's comm is up: the status bar says so.
  await page.waitForSelector(".ak-jobs-status", { timeout: 60_000 });
  await page.waitForSelector(
    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']",
    {
      timeout: 60_000,
    },
  );
}

/** Runs the `index`th cell of the notebook on screen (click its editor, Shift+Enter). */
async function runCell(page: Page, index: number) {
  const cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index);
  await cell.locator(".cm-content").click();
  await page.keyboard.press("Shift+Enter");
}

/** The job id a cell's status line names, once it is queued. */
async function jobIdOf(page: Page, index: number): Promise<string> {
  const out = page
    .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    .nth(index)
    .locator(".jp-OutputArea");
  await out
    .getByText(/job \d+/)
    .first()
    .waitFor({ timeout: 60_000 });
  return /job (\d+)/.exec(await out.innerText())![1]!;
}

async function openNotebook(page: Page, lab: JupyterLab, file: string) {
  await page.locator(`.jp-DirListing-item[title^="Name: ${file}"]`).dblclick();
  await page.waitForSelector(`.lm-TabBar-tab.lm-mod-current:has-text("${file}")`);
  await waitForKernelIdle(page);
  void lab;
}

async function scenario(browser: Browser, server: SlurmServer, lab: JupyterLab, tag: string) {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  const logs: string[] = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("websocket", (ws) => {
    const grab = (dir: string) => (f: { payload: string | Buffer }) => {
      const t = String(f.payload);
      const m = /"msg_type":"(\w+)"/.exec(t);
      const st = /"status":"(\w+)"|"execution_state":"(\w+)"/.exec(t);
      if (m && m[1] !== "status") logs.push(`ws ${dir} ${m[1]} ${st?.[0] ?? ""} ${t.length}`);
    };
    ws.on("framesent", grab("out"));
    ws.on("framereceived", grab("in"));
  });
  try {
    await page.goto(`${lab.url}/lab/tree/A.ipynb?token=${lab.token}`);
    await waitForKernelIdle(page);
    // A: the held detached cell and the one to cancel.
    await runCell(page, 0);
    const held = await jobIdOf(page, 0);
    await runCell(page, 1);
    const toCancel = await jobIdOf(page, 1);
    // B, the second notebook: a markdown cell, then a cell that runs for 30 s.
    await openNotebook(page, lab, "B.ipynb");
    await runCell(page, 1);
    const running = await jobIdOf(page, 1);
    await page
      .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea")
      .getByText("B is running")
      .waitFor({ timeout: 90_000 });

    // The status bar counts them and opens the panel.
    const status = page.locator(".ak-jobs-status");
    await waitUntil("the status bar counting 1 running, 2 queued", async () =>
      /1 running · 2 queued/.test(await status.innerText()),
    );
    await status.click();
    await page.waitForSelector("#alpine-kernel-jobs:not(.lm-mod-hidden) .ak-job");
    await waitUntil("the panel listing the three jobs", async () => (await rows(page)).length === 3);
    const before = await rows(page);
    const row = (id: string) => before.find((r) => r.jobId === id)!;
    expect(row(held).cls).toContain("ak-job-queued");
    expect(row(held).text).toMatch(/A\.ipynb · \[1\] \(detached\)/);
    expect(row(held).text).toContain("its --begin time has not come yet");
    expect(row(held).text).toContain("print('held cell done')");
    expect(row(held).text).toMatch(/waiting \d/);
    expect(row(running).cls).toContain("ak-job-running");
    expect(row(running).text).toMatch(/B\.ipynb · \[1\]/);
    expect(row(running).text).toContain("import time");
    expect(row(running).text).toMatch(/running \d/);
    expect(row(running).text).toMatch(/acpu/);
    await page.screenshot({ path: join(ARTIFACTS, `jupyterlab-jobs-panel-${tag}-queued-running.png`) });

    // Filters: by state, by notebook, then all again.
    await page.selectOption(".ak-jobs-state", "running");
    expect((await rows(page)).map((r) => r.jobId)).toEqual([running]);
    await page.selectOption(".ak-jobs-state", "all");
    await page.selectOption(".ak-jobs-notebook", { label: "A.ipynb" });
    expect((await rows(page)).map((r) => r.jobId).sort()).toEqual([held, toCancel].sort());
    await page.selectOption(".ak-jobs-notebook", { label: "all notebooks" });
    expect(await rows(page)).toHaveLength(3);

    // Cancel one from the panel, with confirmation; squeue confirms.
    await page.locator(`.ak-job[data-job-id="${toCancel}"] .ak-job-cancel`).click();
    await page.locator(".jp-Dialog").getByText("Cancel this cell's job?").waitFor();
    await page.locator(".jp-Dialog button", { hasText: "Cancel job" }).click();
    await waitUntil(`job ${toCancel} leaving squeue`, () => !squeueHas(toCancel), 60_000);
    await waitUntil("the cancelled row saying CANCELLED", async () =>
      /CANCELLED/.test((await rows(page)).find((r) => r.jobId === toCancel)?.text ?? ""),
    );

    // Let the held job start: a notification says it started after waiting, then that it ended.
    await new Promise((r) => setTimeout(r, 11_000)); // longer than the default 10 s threshold
    execFileSync("scontrol", ["update", `JobId=${held}`, "StartTime=now"]);
    const toast = (text: RegExp) => page.locator(".Toastify__toast", { hasText: text });
    await toast(/A\.ipynb · \[1\] \(detached\) started on .* after waiting/)
      .first()
      .waitFor({ timeout: 90_000 });
    await toast(/A\.ipynb · \[1\] \(detached\) completed/)
      .first()
      .waitFor({ timeout: 90_000 });
    await page.screenshot({ path: join(ARTIFACTS, `jupyterlab-jobs-panel-${tag}-notification.png`) });
    // Both turn COMPLETED in place: the page was never reloaded.
    await waitUntil(
      "both rows COMPLETED",
      async () => {
        const now = await rows(page);
        return [held, running].every((id) =>
          /ak-outcome-completed/.test(now.find((r) => r.jobId === id)?.cls ?? ""),
        );
      },
      120_000,
    );
    const after = await rows(page);
    const heldAfter = after.find((r) => r.jobId === held)!.text;
    expect(heldAfter).toMatch(/COMPLETED/);
    expect(heldAfter).toMatch(/exit 0:0/);
    expect(heldAfter).toMatch(/took \d/);
    expect(after.find((r) => r.jobId === running)!.text).toMatch(/MaxRSS/);
    expect(await page.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(1);

    // The detached cell's output, from its files, in the panel.
    await page.locator(`.ak-job[data-job-id="${held}"] .ak-job-output`).click();
    await page.locator(`.ak-job[data-job-id="${held}"] .ak-job-tail`).getByText("held cell done").waitFor();
    await page.screenshot({ path: join(ARTIFACTS, `jupyterlab-jobs-panel-${tag}-completed.png`) });

    // Jump: from notebook A, a click on B's row makes B current with its cell selected.
    await page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", { hasText: "A.ipynb" }).click();
    await page.locator(`.ak-job[data-job-id="${running}"] .ak-job-code`).click();
    await page.waitForSelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:has-text("B.ipynb")');
    const active = await page.$$eval(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", (cells) =>
      cells.findIndex((c) => c.classList.contains("jp-mod-active")),
    );
    expect(active).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, `jupyterlab-jobs-panel-${tag}-jump.png`) });

    // B holds an allocation: a row of its own with the time it has left, counted in the status
    // bar, with no output of its own; "Release" (confirmed) ends it, squeue confirms.
    await runCell(page, 2);
    const ready = page
      .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
      .nth(2)
      .getByText(/allocation \d+ ready on/)
      .first();
    await ready.waitFor({ timeout: 120_000 });
    const holder = /allocation (\d+) ready/.exec(await ready.innerText())![1]!;
    const allocationRow = () => rows(page).then((all) => all.find((r) => r.jobId === holder));
    await waitUntil("the allocation's row, running, with its time left", async () =>
      /held [\d:.]+( s)? · [\d:.]+( s)? left/.test((await allocationRow())?.text ?? ""),
    );
    const held_ = (await allocationRow())!;
    expect(held_.cls).toContain("ak-job-allocation");
    expect(held_.text).toMatch(/B\.ipynb · held allocation/);
    expect(held_.text).toContain("%slurm allocate");
    expect(held_.text).toContain("Release");
    expect(held_.text).not.toContain("Output");
    expect(await status.innerText()).toMatch(/· 1 allocation held/);
    await page.screenshot({ path: join(ARTIFACTS, `jupyterlab-jobs-panel-${tag}-allocation.png`) });
    await page.locator(`.ak-job[data-job-id="${holder}"] .ak-job-release`).click();
    await page.locator(".jp-Dialog").getByText("Release this allocation?").waitFor();
    await page.locator(".jp-Dialog button", { hasText: "Release" }).click();
    await waitUntil(`allocation ${holder} leaving squeue`, () => !squeueHas(holder), 60_000);
    await waitUntil("the allocation's row ended, released", async () =>
      /COMPLETED · released/.test((await allocationRow())?.text ?? ""),
    );
    expect(await status.innerText()).not.toMatch(/allocation held/);

    const errors = logs.filter((l) => l.startsWith("error:") && /alpine/i.test(l));
    expect(errors).toEqual([]);
  } catch (err) {
    await page
      .screenshot({ path: join(ARTIFACTS, `jupyterlab-jobs-panel-${tag}-failure.png`) })
      .catch(() => {});
    throw new Error(
      `${String(err)}\n--- browser console\n${logs.slice(-30).join("\n")}\n--- JupyterLab\n${lab.log().slice(-3000)}\n--- server\n${server.log().slice(-3000)}`,
    );
  } finally {
    await page.close();
  }
}

const ALLOCATE = "%slurm allocate --time 0:10:00 --mem 500M";
const NOTEBOOKS = { "A.ipynb": [HELD, TO_CANCEL], "B.ipynb": ["# B: a long cell", RUNNING, ALLOCATE] };

describe("the Alpine jobs panel in JupyterLab 4.6.4 (headless Chromium, test cluster)", () => {
  let cluster: ClusterEnv;
  let browser: Browser;
  const servers: SlurmServer[] = [];
  const labs: JupyterLab[] = [];

  beforeAll(async () => {
    requireBuilt();
    requireProgram(CHROMIUM, "apt-get install chromium");
    cluster = requireCluster();
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    for (const lab of labs) await lab.stop();
    for (const s of servers) {
      s.cancelJobs();
      await s.stop();
    }
  });

  test.each([
    ["kernelspec", false],
    ["gateway", true],
  ])(
    "(%s) lists, counts, notifies, completes live, cancels and jumps",
    async (tag, gateway) => {
      const server = await startSlurmServer(cluster);
      servers.push(server);
      const lab = await startJupyterLab(cluster, server, `lab-${tag}`, { gateway, notebooks: NOTEBOOKS });
      labs.push(lab);
      await scenario(browser, server, lab, String(tag));
    },
    400_000,
  );
});
