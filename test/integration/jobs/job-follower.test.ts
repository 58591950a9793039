/**
 * One cell's job followed end to end on this machine (bash: an integration test): the real
 * LocalTransport and LocalScheduler run a fake "runner" (a bash script writing events lines as the
 * Python runner does) in a temporary session directory, followed through the batch backend's job
 * handle. An end marker ends the cell; a job that exits without one died (with its
 * stderr's tail); offsets are reported, and a follower resumed from them delivers nothing twice.
 */
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../../../src/cluster/local-transport";
import { shellQuote } from "../../../src/cluster/transport";
import type { RunnerEvent } from "../../../src/jobs/runner-events";
import { NO_OFFSETS, type CellOffsets, type JobHandle, type JobListener } from "../../../src/jobs/backend";
import { BatchBackend } from "../../../src/jobs/batch-backend";
import { cellPaths, SessionFiles, type CellPaths } from "../../../src/jobs/session-files";
import { LocalScheduler } from "../../../src/jobs/local/local-scheduler";
import type { JobStatus } from "../../../src/jobs/scheduler";

let dir: string;
let transport: LocalTransport;
let scheduler: LocalScheduler;
let backend: BatchBackend;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "ak-celljob-")));
  transport = new LocalTransport();
  scheduler = new LocalScheduler(transport);
  const environment = { modules: [], setup: [], python: "python3" };
  backend = new BatchBackend(
    transport,
    scheduler,
    new SessionFiles(transport, { notebookDir: "{work_dir}/notebooks/{notebook}", workDir: dir }),
    { environment, workDir: dir, umask: "077" },
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const START = {
  type: "start",
  time: 1764078643.5,
  host: "c3cpu-a1-u1-1",
  pid: 4242,
  python: "3.11.2",
  ipython: false,
  dill: false,
};
const END_OK = { type: "end", status: "ok", time: 1764078644.5, maxrss_kb: 20480 };
const out = (text: string) => ({ type: "stream", name: "stdout", text });
const err = (text: string) => ({ type: "stream", name: "stderr", text });

/** Bash lines of the fake runner. */
const emit = (...events: object[]) =>
  `printf '%s\\n' ${events.map((e) => shellQuote(JSON.stringify(e))).join(" ")} >> "$EVENTS"`;
/** Events that appear in the file at once (written aside, then renamed into place). */
const emitAtOnce = (...events: object[]) =>
  `printf '%s\\n' ${events.map((e) => shellQuote(JSON.stringify(e))).join(" ")} > "$EVENTS.tmp" && mv "$EVENTS.tmp" "$EVENTS"`;
/** Waits (at most 10 s, so that a failing test cannot leave a job behind) for a file to appear. */
const waitFor = (file: string) => `for _ in $(seq 1000); do [ -e ${file} ] && break; sleep 0.01; done`;

class Recorder implements JobListener {
  events: RunnerEvent[] = [];
  stdout = "";
  stderr = "";
  statuses: JobStatus[] = [];
  offsets: CellOffsets[] = [];
  trouble: string[] = [];
  endings = 0;
  /** `onSaved` sees the offsets as the session would save them (after what they cover was delivered). */
  constructor(private readonly onSaved: (r: Recorder, offsets: CellOffsets) => void = () => {}) {}
  onEvent(e: RunnerEvent) {
    this.events.push(e);
  }
  onOutput(name: "stdout" | "stderr", text: string) {
    this[name] += text;
  }
  onStatus(s: JobStatus) {
    this.statuses.push(s);
  }
  onOffsets(o: CellOffsets) {
    this.offsets.push(o);
    this.onSaved(this, o);
  }
  onEnding() {
    this.endings++;
  }
  onTrouble(m: string) {
    this.trouble.push(m);
  }
  /** Stream text of the runner's events. */
  streamed(name: "stdout" | "stderr"): string {
    return this.events.map((e) => (e.type === "stream" && e.name === name ? e.text : "")).join("");
  }
}

let seq = 0;
/** Writes the fake runner as the cell's job script, submits it and follows it, as the backend does. */
async function run(body: string[], listener: JobListener): Promise<{ job: JobHandle; paths: CellPaths }> {
  const sessionDir = join(dir, "session");
  const paths = cellPaths(sessionDir, ++seq);
  const script = ["#!/bin/bash", `EVENTS=${shellQuote(paths.events)}`, ...body].join("\n") + "\n";
  await transport.writeFile(paths.code, "print('the cell')\n");
  await transport.writeFile(paths.script, script, 0o755);
  const jobId = await scheduler.submit({
    scriptPath: paths.script,
    stdoutPath: paths.stdout,
    stderrPath: paths.stderr,
    eventsPath: paths.events,
    workDir: dir,
    loginShell: false,
    tag: "alpine-kernel:test/1",
  });
  return { job: backend.follow({ jobId, sessionDir, seq }, NO_OFFSETS, listener), paths };
}

/** Follows a job again from saved offsets; with a scheduler of its own, as a restarted server does. */
function resume(
  job: JobHandle,
  paths: CellPaths,
  from: CellOffsets,
  listener: JobListener,
  fresh = false,
): JobHandle {
  const sessionDir = join(paths.code, "..", "..");
  const cellSeq = Number(/(\d+)\.py$/.exec(paths.code)![1]);
  const environment = { modules: [], setup: [], python: "python3" };
  const b = fresh
    ? new BatchBackend(
        transport,
        new LocalScheduler(transport),
        new SessionFiles(transport, { notebookDir: "{work_dir}/notebooks/{notebook}", workDir: dir }),
        { environment, workDir: dir, umask: "077" },
      )
    : backend;
  return b.follow({ jobId: job.jobId, sessionDir, seq: cellSeq }, from, listener);
}

const sizes = (p: CellPaths): CellOffsets => ({
  events: statSync(p.events).size,
  stdout: statSync(p.stdout).size,
  stderr: statSync(p.stderr).size,
});

describe("how a cell ends", () => {
  const cases: [string, string[], object][] = [
    [
      "the end marker (ok)",
      [emit(START, out("hi\n"), END_OK)],
      { kind: "ended", status: "ok", maxRss: "20M" },
    ],
    [
      "the end marker (error), big peak memory",
      [emit(START, { ...END_OK, status: "error", maxrss_kb: 3 * 1024 * 1024 })],
      { kind: "ended", status: "error", maxRss: "3.0G" },
    ],
    [
      "the end marker, even while the job's process goes on (slurmstepd cleanup)",
      [emit(START, END_OK), "sleep 30"],
      { kind: "ended", status: "ok" },
    ],
    [
      "no end marker after the runner started: died, with the scheduler's end state",
      [emit(START), "exit 3"],
      { kind: "died", started: true, final: expect.objectContaining({ state: "FAILED", exitCode: 3 }) },
    ],
    [
      "no end marker: the runner's own stderr events are in the tail",
      [emit(START, err("MemoryError\n")), "exit 1"],
      { kind: "died", started: true, stderrTail: "MemoryError\n" },
    ],
    [
      "no end marker and no start (setup failed): died before starting",
      ["echo 'module: command not found' >&2", "exit 127"],
      {
        kind: "died",
        started: false,
        stderrTail: "module: command not found\n",
        final: expect.objectContaining({ state: "FAILED", exitCode: 127 }),
      },
    ],
  ];
  test.each(cases)("%s", async (_n, body, outcome) => {
    const { job } = await run(body, new Recorder());
    await expect(job.done).resolves.toMatchObject(outcome);
    await job.cancel(); // a process left running (the slurmstepd case)
  });
});

test("events arrive in order, consecutive stream events of one name merged; the job's own output too", async () => {
  const r = new Recorder();
  const display = { type: "display_data", data: { "text/plain": "<Figure>" }, metadata: {}, transient: {} };
  const { job, paths } = await run(
    [
      "echo setting up; echo 'a warning' >&2",
      emitAtOnce(START, out("a"), out("b"), err("oops\n"), out("c"), display, out("d\n"), END_OK),
    ],
    r,
  );
  await job.done;
  expect(r.events.map((e) => (e.type === "stream" ? `${e.name}:${e.text}` : e.type))).toEqual([
    "start",
    "stdout:ab",
    "stderr:oops\n",
    "stdout:c",
    "display_data",
    "stdout:d\n",
  ]);
  expect([r.stdout, r.stderr]).toEqual(["setting up\n", "a warning\n"]);
  // Offsets: reported as they move, the last one at the end of every file.
  expect(r.offsets.at(-1)).toEqual(sizes(paths));
  expect(r.endings).toBe(1); // the end marker was told before the last reads
  expect(r.statuses.map((s) => s.state)).toContain("RUNNING");
});

test("an unreadable events line is reported on stderr, the others still arrive", async () => {
  const r = new Recorder();
  const { job } = await run([emit(START, out("x")), `echo 'not json' >> "$EVENTS"`, emit(END_OK)], r);
  await expect(job.done).resolves.toMatchObject({ kind: "ended", status: "ok" });
  expect(r.streamed("stdout")).toBe("x");
  expect(r.stderr).toMatch(/^alpine-kernel: unreadable runner event \(.*not json\)\n$/);
});

test("died: the tail of stderr (the job's own and the runner's) is kept, at most 4000 characters", async () => {
  const r = new Recorder();
  const long = "x".repeat(5000);
  const { job } = await run(
    [
      emit(START, err("Traceback (most recent call last):\n")),
      "sleep 0.2",
      `printf '${long}END' >&2`,
      "exit 1",
    ],
    r,
  );
  const outcome = await job.done;
  expect(outcome.kind).toBe("died");
  if (outcome.kind !== "died") return;
  expect(outcome.stderrTail).toHaveLength(4000);
  expect(outcome.stderrTail.endsWith("xxxEND")).toBe(true);
});

test("a follower resumed from saved offsets (server restart) delivers only what is new", async () => {
  const gate = join(dir, "gate");
  let snapshot: CellOffsets | undefined;
  const first = new Recorder((r, offsets) => {
    // Part 1 delivered and its offsets saved: the server "stops" here, the job goes on.
    if (!snapshot && r.streamed("stdout") === "p1\n" && r.stdout === "o1\n" && r.stderr === "e1\n") {
      snapshot = offsets;
      writeFileSync(gate, "");
    }
  });
  const { job, paths } = await run(
    [
      "echo o1; echo e1 >&2",
      emit(START, out("p1\n")),
      waitFor(shellQuote(gate)),
      "echo o2; echo e2 >&2",
      emit(out("p2\n"), END_OK),
    ],
    first,
  );
  await job.done;
  expect(existsSync(gate)).toBe(true);
  expect(snapshot).toEqual({
    events: Buffer.byteLength(JSON.stringify(START) + "\n" + JSON.stringify(out("p1\n")) + "\n"),
    stdout: 3,
    stderr: 3,
  });

  const second = new Recorder();
  const resumed = resume(job, paths, snapshot!, second, true);
  await expect(resumed.done).resolves.toMatchObject({ kind: "ended", status: "ok" });
  expect(second.events.map((e) => e.type)).toEqual(["stream"]);
  expect([second.streamed("stdout"), second.stdout, second.stderr]).toEqual(["p2\n", "o2\n", "e2\n"]);
  expect(second.offsets.at(-1)).toEqual(sizes(paths));
});

test("a follower resumed after the start marker knows the runner started", async () => {
  const { job, paths } = await run([emit(START), "exit 1"], new Recorder());
  await job.done;
  const resumed = resume(job, paths, sizes(paths), new Recorder());
  await expect(resumed.done).resolves.toMatchObject({ kind: "died", started: true });
});

test("a follower resumed at the end delivers nothing", async () => {
  const { job, paths } = await run([emit(START, out("all\n"), END_OK), "echo o"], new Recorder());
  await job.done;
  await new Promise((r) => setTimeout(r, 50)); // "echo o" after the end marker
  const again = new Recorder();
  const resumed = resume(job, paths, sizes(paths), again);
  // The end marker lies before the saved offsets: the cell ended (it is not "died").
  await expect(resumed.done).resolves.toMatchObject({ kind: "ended", status: "ok", maxRss: "20M" });
  expect([again.events, again.stdout, again.stderr]).toEqual([[], "", ""]);
});

describe("interrupt", () => {
  test("before the runner started: the job is cancelled", async () => {
    const r = new Recorder();
    const { job } = await run(["sleep 30"], r);
    await job.interrupt();
    await expect(job.done).resolves.toMatchObject({
      kind: "died",
      started: false,
      final: { state: "CANCELLED" },
    });
  });

  test("once the runner started: SIGINT (the runner writes its error and end)", async () => {
    const r = new Recorder();
    const started = join(dir, "started");
    const { job } = await run(
      [
        `trap ${shellQuote(`${emit({ type: "error", ename: "KeyboardInterrupt", evalue: "", traceback: [] }, { ...END_OK, status: "error" })}; exit 0`)} INT`,
        emit(START),
        `touch ${shellQuote(started)}`,
        "for _ in $(seq 500); do sleep 0.02; done",
      ],
      r,
    );
    while (!r.events.some((e) => e.type === "start")) await new Promise((res) => setTimeout(res, 10));
    await job.interrupt();
    await expect(job.done).resolves.toMatchObject({ kind: "ended", status: "error" });
    expect(r.events.map((e) => e.type)).toEqual(["start", "error"]);
  });
});

test("input() answers are written next to the events file, readable by the user only, and never left behind", async () => {
  // The fake runner copies the answer aside (mode kept) without deleting it, as a runner killed
  // right after reading would leave it: once the cell is over, the server removes it.
  const { job, paths } = await run(
    [waitFor('"$EVENTS.input.1"'), 'cp -p "$EVENTS.input.1" "$EVENTS.seen"', emit(START, END_OK)],
    new Recorder(),
  );
  await job.answerInput(1, { value: "42" });
  await job.done;
  const seen = `${paths.events}.seen`;
  expect(JSON.parse(readFileSync(seen, "utf8"))).toEqual({ value: "42" });
  expect(statSync(seen).mode & 0o777).toBe(0o600);
  expect(existsSync(`${paths.events}.input.1`)).toBe(false);
});
