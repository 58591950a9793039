/**
 * Why a cell's job ended without its end marker: each case gives a name a program can test and a
 * sentence that says what to do, shown as an error whose first traceback line repeats them. stderr tails come from real Slurm output (test/fixtures/slurm/).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { diagnoseDeath as diagnoseFailure } from "../../../src/jobs/diagnose";
import { SETUP_FAILED_MARKER } from "../../../src/jobs/job-script";
import type { FinalJobStatus } from "../../../src/jobs/scheduler";
import { failureContent } from "../../../src/session/cell-output";

/** The diagnosis as the notebook shows it (the session renders the neutral failure). */
const diagnoseDeath = (...args: Parameters<typeof diagnoseFailure>) =>
  failureContent(diagnoseFailure(...args));

const fixture = (name: string) =>
  readFileSync(join(__dirname, "..", "..", "fixtures", "slurm", name), "utf8");
const final = (patch: Partial<FinalJobStatus>): FinalJobStatus => ({
  jobId: "31",
  state: "FAILED",
  exitCode: 1,
  signal: 0,
  ...patch,
});

const cases: [string, FinalJobStatus, boolean, string, { time?: string; mem?: string }, string, RegExp][] = [
  [
    "timeout",
    final({ state: "TIMEOUT", elapsed: "00:01:27" }),
    true,
    fixture("job-output-timeout.txt"),
    { time: "1" },
    "SlurmTimeout",
    /time limit --time=1 after 00:01:27; raise it with %%slurm --time/,
  ],
  [
    "OUT_OF_MEMORY (cgroups, as on Alpine)",
    final({ state: "OUT_OF_MEMORY", maxRss: "1.2G" }),
    true,
    "",
    { mem: "1G" },
    "SlurmOutOfMemory",
    /used 1\.2G \(MaxRSS\) and hit --mem=1G; ask for more with %%slurm --mem/,
  ],
  [
    "OverMemoryKill: FAILED 0:9 with the slurmstepd message",
    final({ state: "FAILED", exitCode: 0, signal: 9, reqMem: "100M" }),
    true,
    fixture("job-output-oom.txt"),
    {},
    "SlurmOutOfMemory",
    /hit --mem=100M/,
  ],
  [
    "OverMemoryKill reported as CANCELLED",
    final({ state: "CANCELLED" }),
    true,
    fixture("job-output-oom.txt"),
    {},
    "SlurmOutOfMemory",
    /ran out of memory/,
  ],
  [
    "cancelled",
    final({ state: "CANCELLED", elapsed: "00:00:05" }),
    true,
    fixture("job-output-cancelled.txt"),
    {},
    "SlurmCancelled",
    /^job 31 was cancelled after 00:00:05 before the cell finished\.$/,
  ],
  [
    "node failure",
    final({ state: "NODE_FAIL", node: "c3cpu-a1-u1-1" }),
    true,
    "",
    {},
    "SlurmNodeFail",
    /node running job 31 \(c3cpu-a1-u1-1\) failed; run the cell again/,
  ],
  ["preempted", final({ state: "PREEMPTED" }), true, "", {}, "SlurmPreempted", /preempted.*--requeue/],
  ["boot failure", final({ state: "BOOT_FAIL" }), false, "", {}, "SlurmBootFail", /ended in state BOOT_FAIL/],
  ["deadline", final({ state: "DEADLINE" }), false, "", {}, "SlurmDeadline", /ended in state DEADLINE/],
  [
    "environment setup failed",
    final({ exitCode: 97 }),
    false,
    `Lmod has detected the following error: module 'minforge' not found\n${SETUP_FAILED_MARKER} module load minforge\n`,
    {},
    "EnvironmentSetupFailed",
    /'module load minforge' failed\. Run `alpine-kernel doctor`: it checks the 'environment' section/,
  ],
  [
    "ended before the runner started",
    final({ exitCode: 127 }),
    false,
    "bash: python3: command not found\n",
    {},
    "CellNotStarted",
    /ended \(FAILED, exit code 127\) before the cell runner started/,
  ],
  [
    "os._exit(3) in the cell",
    final({ exitCode: 3 }),
    true,
    "",
    {},
    "CellProcessDied",
    /Python process exited with code 3 before the cell finished \(os\._exit, a crash, or a kill\)/,
  ],
  [
    "segfault",
    final({ exitCode: 0, signal: 11 }),
    true,
    "",
    {},
    "CellProcessDied",
    /was killed by signal 11/,
  ],
  [
    "local job that ended while the server was down",
    final({ jobId: "local-4242", state: "UNKNOWN", unknown: true }),
    true,
    "",
    {},
    "CellProcessDied",
    /^the cell's process ended while the server was not watching/,
  ],
];

test.each(cases)("%s → %s", (_name, f, started, stderr, requested, ename, evalue) => {
  const e = diagnoseDeath(f, started, stderr, requested);
  expect(e.ename).toBe(ename);
  expect(e.evalue).toMatch(evalue);
  // The first traceback line names the error (red, as IPython shows it) and repeats the sentence.
  expect(e.traceback[0]).toBe(`\u001b[0;31m${ename}\u001b[0m: ${e.evalue}`);
});

test("the last lines of the job's stderr are shown under the error", () => {
  const e = diagnoseDeath(final({ state: "TIMEOUT" }), true, fixture("job-output-timeout.txt"));
  expect(e.traceback).toContain("Last lines of the job's stderr:");
  expect(e.traceback.join("\n")).toContain("DUE TO TIME LIMIT");
});

test("at most 15 lines of stderr are kept", () => {
  const stderr = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
  const tail = diagnoseDeath(final({ exitCode: 3 }), true, stderr).traceback.at(-1)!;
  expect(tail.split("\n")).toEqual(Array.from({ length: 15 }, (_, i) => `line ${25 + i}`));
});

test("no stderr: no empty section", () => {
  expect(diagnoseDeath(final({ exitCode: 3 }), true, "").traceback).toHaveLength(1);
});

test("local jobs are called the cell's process, not a job number", () => {
  const e = diagnoseDeath(final({ jobId: "local-99", state: "CANCELLED" }), true, "");
  expect(e.evalue).toMatch(/^the cell's process was cancelled/);
});
