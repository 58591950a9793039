/**
 * The local backend with real bash processes: exit codes and signals become Slurm end states,
 * cancel ends the job's whole process group, interrupt sends SIGINT to the job's script.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../../../src/cluster/local-transport";
import { ClusterError } from "../../../src/errors";
import { LocalScheduler, localJobId } from "../../../src/jobs/local/local-scheduler";
import type { FinalJobStatus, JobStatus } from "../../../src/jobs/scheduler";

let dir: string;
let scheduler: LocalScheduler;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "ak-local-sched-")));
  scheduler = new LocalScheduler(new LocalTransport());
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes a job script and submits it; returns the job id and its output paths. */
async function submit(body: string, loginShell = false) {
  const name = `job${++n}`;
  const paths = {
    scriptPath: join(dir, `${name}.sh`),
    stdoutPath: join(dir, `${name}.out`),
    stderrPath: join(dir, `${name}.err`),
  };
  writeFileSync(paths.scriptPath, `#!/bin/bash\n${body}\n`);
  const jobId = await scheduler.submit({
    ...paths,
    workDir: dir,
    loginShell,
    tag: `alpine-kernel:test/${name}`,
    eventsPath: join(dir, `${name}.events.jsonl`),
  });
  return { jobId, ...paths };
}

/** A process that has exited but is not reaped yet (a zombie, reparented to init) counts as dead. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("end states from exit codes and signals", () => {
  const cases: [string, string, Partial<FinalJobStatus>][] = [
    ["exit 0", "exit 0", { state: "COMPLETED", exitCode: 0, signal: 0 }],
    ["exit 3", "exit 3", { state: "FAILED", exitCode: 3, signal: 0 }],
    ["a failing last command", "false", { state: "FAILED", exitCode: 1, signal: 0 }],
    ["killed by SIGTERM (scancel's signal)", "kill -TERM $$", { state: "CANCELLED", signal: 15 }],
    ["killed by SIGKILL", "kill -KILL $$", { state: "CANCELLED", signal: 9 }],
    ["a crash (SIGSEGV)", "kill -SEGV $$", { state: "FAILED", signal: 11 }],
  ];
  test.each(cases)("%s", async (_n, body, expected) => {
    const { jobId } = await submit(body);
    expect(jobId).toMatch(/^local-\d+$/);
    const final = await scheduler.final(jobId);
    expect(final).toMatchObject({ jobId, node: hostname(), ...expected });
    expect(final.elapsed).toMatch(/^0:00:0\d$/);
  });
});

test("the script runs in the work dir with its output in the job's files", async () => {
  const job = await submit('pwd; echo "to stderr" >&2');
  await scheduler.final(job.jobId);
  expect(readFileSync(job.stdoutPath, "utf8")).toBe(`${dir}\n`);
  expect(readFileSync(job.stderrPath, "utf8")).toBe("to stderr\n");
});

test.each([
  [true, "COMPLETED"],
  [false, "FAILED"],
])("loginShell %p: bash -l (for `module`) → %s", async (login, state) => {
  const { jobId } = await submit("shopt -q login_shell", login);
  expect((await scheduler.final(jobId)).state).toBe(state);
});

test("watch: RUNNING at once with this host as node, gone once when the process ends", async () => {
  const { jobId } = await submit("sleep 0.2");
  const statuses: JobStatus[] = [];
  let gone = 0;
  scheduler.watch(
    jobId,
    (s) => statuses.push(s),
    () => gone++,
  );
  expect(statuses).toEqual([{ jobId, state: "RUNNING", node: hostname(), elapsed: "0:00:00" }]);
  expect(gone).toBe(0);
  await scheduler.final(jobId);
  await new Promise((r) => setImmediate(r));
  expect(gone).toBe(1);
});

test("a watch stopped before the end hears nothing more", async () => {
  const { jobId } = await submit("sleep 0.1");
  let gone = 0;
  const unwatch = scheduler.watch(
    jobId,
    () => {},
    () => gone++,
  );
  unwatch();
  await scheduler.final(jobId);
  await new Promise((r) => setImmediate(r));
  expect(gone).toBe(0);
});

test("cancel ends the whole process group (the script and what it started)", async () => {
  const pidFile = join(dir, "child.pid");
  const { jobId } = await submit(`sleep 60 & echo $! > ${pidFile}; wait`);
  await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), "the child's pid");
  const child = Number(readFileSync(pidFile, "utf8"));
  expect(alive(child)).toBe(true);
  await scheduler.cancel(jobId);
  expect((await scheduler.final(jobId)).state).toBe("CANCELLED");
  await until(() => !alive(child), "the background child to die");
});

test("interrupt sends SIGINT to the script (KeyboardInterrupt in the cell)", async () => {
  const ready = join(dir, "ready");
  const job = await submit(
    `trap 'echo got SIGINT; exit 130' INT\ntouch ${ready}\nwhile true; do sleep 0.02; done`,
  );
  await until(() => existsSync(ready), "the trap to be set");
  await scheduler.interrupt(job.jobId);
  expect(await scheduler.final(job.jobId)).toMatchObject({ state: "FAILED", exitCode: 130, signal: 0 });
  expect(readFileSync(job.stdoutPath, "utf8")).toBe("got SIGINT\n");
});

test("interrupt and cancel of a job that has ended are harmless", async () => {
  const { jobId } = await submit("exit 0");
  await scheduler.final(jobId);
  await expect(scheduler.interrupt(jobId)).resolves.toBeUndefined();
  await expect(scheduler.cancel(jobId)).resolves.toBeUndefined();
  expect((await scheduler.final(jobId)).state).toBe("COMPLETED");
});

test("a job this scheduler did not start (server restarted) is followed by its pid; its end is unknown", async () => {
  const proc = spawn("sleep", ["0.3"], { stdio: "ignore" });
  const jobId = localJobId(proc.pid!);
  const fresh = new LocalScheduler(new LocalTransport());
  const statuses: JobStatus[] = [];
  let gone = 0;
  fresh.watch(
    jobId,
    (s) => statuses.push(s),
    () => gone++,
  );
  expect(statuses.map((s) => s.state)).toEqual(["RUNNING"]);
  const final = await fresh.final(jobId);
  expect(final).toMatchObject({ jobId, state: "UNKNOWN", unknown: true, node: hostname() });
  await new Promise((r) => setImmediate(r));
  expect(gone).toBe(1);
});

test.each(["123", "local-", "local-12x", "slurm-5"])("%j is not a local job id", async (id) => {
  await expect(scheduler.final(id)).rejects.toThrow(ClusterError);
  await expect(scheduler.final(id)).rejects.toMatchObject({ code: "BAD_JOB_ID" });
});
