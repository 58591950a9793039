/** sacct rows merged into final statuses, against every sacct fixture (test/fixtures/slurm/README.md). */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { SACCT_ARGS, SACCT_FORMAT, parseSacct } from "../../../../src/jobs/slurm/parse-sacct";
import type { FinalJobStatus } from "../../../../src/jobs/scheduler";
import { SlurmOutputError } from "../../../../src/jobs/slurm/slurm-time";

const DIR = join(__dirname, "../../../fixtures/slurm");
const fixture = (name: string): string => readFileSync(join(DIR, name), "utf8");
const cpu = "c3cpu-a1-u1-1";

/** What each job of the fixtures' scenario ends as (with its batch step). */
const FINAL: Record<string, FinalJobStatus> = {
  "19": {
    jobId: "19",
    state: "TIMEOUT",
    exitCode: 0,
    signal: 15,
    elapsed: "0:01:27",
    timeLimit: "0:01:00",
    maxRss: "3M",
    reqMem: "1000M",
    billing: 1,
    node: cpu,
  },
  "23": {
    jobId: "23",
    state: "CANCELLED",
    exitCode: 0,
    signal: 0,
    elapsed: "0:00:00",
    timeLimit: "0:10:00",
    reqMem: "4000M",
  },
  "29": {
    jobId: "29",
    state: "COMPLETED",
    exitCode: 0,
    signal: 0,
    elapsed: "0:00:00",
    timeLimit: "1:00:00",
    reqMem: "1000M",
    billing: 1,
    node: cpu,
  },
  "30": {
    jobId: "30",
    state: "FAILED",
    exitCode: 3,
    signal: 0,
    elapsed: "0:00:00",
    timeLimit: "1:00:00",
    reqMem: "1000M",
    billing: 1,
    node: cpu,
  },
  "31": {
    jobId: "31",
    state: "FAILED",
    exitCode: 0,
    signal: 9,
    elapsed: "0:00:02",
    timeLimit: "1:00:00",
    maxRss: "410M",
    reqMem: "100M",
    billing: 1,
    node: cpu,
  },
  "32": {
    jobId: "32",
    state: "COMPLETED",
    exitCode: 0,
    signal: 0,
    elapsed: "0:00:00",
    timeLimit: "1:00:00",
    reqMem: "1000M",
    billing: 1,
    node: "c3gpu-a1-u1-1",
  },
  "33": {
    jobId: "33",
    state: "CANCELLED",
    exitCode: 0,
    signal: 15,
    elapsed: "0:00:03",
    timeLimit: "1:00:00",
    maxRss: "3M",
    reqMem: "1000M",
    billing: 1,
    node: cpu,
  },
};
const pick = (...ids: string[]): FinalJobStatus[] => ids.map((id) => FINAL[id]!);

/** Every sacct fixture and the statuses it holds, in row order. */
const CASES: [file: string, expected: FinalJobStatus[]][] = [
  ["sacct-completed.txt", pick("29")],
  ["sacct-failed-exit3.txt", pick("30")],
  ["sacct-cancelled-running.txt", pick("33")], // 0:0, batch step CANCELLED 0:15 → signal 15
  ["sacct-cancelled-pending.txt", pick("23")], // CANCELLED by 1001, never ran: None assigned
  ["sacct-timeout.txt", pick("19")], // TIMEOUT 0:0, batch step 0:15
  ["sacct-oom-overmemorykill.txt", pick("31")], // FAILED 0:9, batch 419960K
  ["sacct-gpu-completed.txt", pick("32")],
  [
    // TRESBillingWeights CPU=1.0,GRES/gpu=108.2: 2 + 2 × 108.2 = 218.4, recorded as 218
    "sacct-billing-gpu.txt",
    [
      {
        jobId: "1441",
        state: "COMPLETED",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:02",
        timeLimit: "0:10:00",
        maxRss: "3M",
        reqMem: "2000M",
        billing: 218,
        node: "c3gpu-a1-u1-1",
      },
    ],
  ],
  [
    // CPU=1.0,Mem=0.25G: 3 + 7 × 0.25 = 4.75, recorded as 4
    "sacct-billing-amem.txt",
    [
      {
        jobId: "1442",
        state: "COMPLETED",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:02",
        timeLimit: "0:10:00",
        maxRss: "3M",
        reqMem: "7G",
        billing: 4,
        node: cpu,
      },
    ],
  ],
  ["sacct-end-states.txt", pick("19", "23", "29", "30", "31", "32", "33")],
  [
    // -X: no batch rows, so no MaxRSS and no batch signal
    "sacct-end-states-X.txt",
    pick("19", "23", "29", "30", "31", "32", "33").map((s) => {
      const { maxRss: _, ...rest } = s;
      return { ...rest, signal: s.jobId === "31" ? 9 : 0 };
    }),
  ],
  [
    "sacct-running-pending.txt", // not final yet: returned as they are, the caller asks again
    [
      {
        jobId: "20",
        state: "RUNNING",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:04",
        timeLimit: "0:30:00",
        reqMem: "2G",
        billing: 4,
        node: cpu,
      },
      {
        jobId: "22",
        state: "RUNNING",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:03",
        timeLimit: "1:00:00",
        reqMem: "4G",
        billing: 2,
        node: "c3gpu-a1-u1-1",
      },
      {
        jobId: "23",
        state: "PENDING",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:00",
        timeLimit: "0:10:00",
        reqMem: "4000M",
      },
    ],
  ],
  [
    "sacct-array-running.txt",
    [
      {
        jobId: "27_0",
        state: "RUNNING",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:18",
        timeLimit: "0:10:00",
        reqMem: "500M",
        billing: 1,
        node: cpu,
      },
      {
        jobId: "27_[1-3]",
        state: "PENDING",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:00",
        timeLimit: "0:10:00",
        reqMem: "500M",
      },
    ],
  ],
  [
    "sacct-array-cancelled.txt",
    [
      {
        jobId: "27_0",
        state: "CANCELLED",
        exitCode: 0,
        signal: 15,
        elapsed: "0:00:23",
        timeLimit: "0:10:00",
        maxRss: "3M",
        reqMem: "500M",
        billing: 1,
        node: cpu,
      },
      {
        jobId: "27_[1-3]",
        state: "CANCELLED",
        exitCode: 0,
        signal: 0,
        elapsed: "0:00:00",
        timeLimit: "0:10:00",
        reqMem: "500M",
      },
    ],
  ],
];

test("every sacct fixture is covered", () => {
  const files = readdirSync(DIR).filter((f) => f.startsWith("sacct-"));
  expect(CASES.map(([f]) => f).sort()).toEqual(files.sort());
});

test("the format is the fixtures'", () => {
  expect(SACCT_FORMAT).toBe(
    "JobID,JobName,State,ExitCode,Elapsed,MaxRSS,ReqMem,Timelimit,NodeList,AllocTRES",
  );
  expect(SACCT_ARGS).toEqual(["--parsable2", "--noheader", `--format=${SACCT_FORMAT}`]);
});

describe("parseSacct on real sacct output", () => {
  test.each(CASES)("%s", (file, expected) => {
    const parsed = parseSacct(fixture(file));
    expect([...parsed.keys()]).toEqual(expected.map((s) => s.jobId));
    expect([...parsed.values()]).toEqual(expected);
  });
});

describe("parseSacct on rows sacct can print (synthetic)", () => {
  const line = (id: string, state: string, exit: string, rss = "", name = "n", limit = "01:00:00"): string =>
    `${id}|${name}|${state}|${exit}|1-02:03:04|${rss}|8G|${limit}|c3cpu-a2-u7-3|cpu=1`;

  test("MaxRSS is the largest over all steps (batch, extern, srun steps)", () => {
    const out = `${line("5", "COMPLETED", "0:0")}\n${line("5.batch", "COMPLETED", "0:0", "133268K")}\n${line("5.extern", "COMPLETED", "0:0", "1024K")}\n${line("5.0", "COMPLETED", "0:0", "1.20G")}\n`;
    expect(parseSacct(out).get("5")).toMatchObject({ maxRss: "1.2G", elapsed: "1-02:03:04", reqMem: "8G" });
  });

  test("OUT_OF_MEMORY (Alpine, cgroups) is its own state", () => {
    const out = `${line("6", "OUT_OF_MEMORY", "0:125")}\n${line("6.batch", "OUT_OF_MEMORY", "0:125", "8G")}`;
    expect(parseSacct(out).get("6")).toMatchObject({
      state: "OUT_OF_MEMORY",
      exitCode: 0,
      signal: 125,
      maxRss: "8G",
    });
  });

  test("the allocation's own exit code wins over the batch step's", () => {
    const out = `${line("7", "FAILED", "2:0")}\n${line("7.batch", "FAILED", "1:0")}`;
    expect(parseSacct(out).get("7")).toMatchObject({ exitCode: 2, signal: 0 });
  });

  test("a job name holding |", () => {
    expect(parseSacct(line("8", "COMPLETED", "0:0", "", "a|b|c")).get("8")).toMatchObject({
      state: "COMPLETED",
      node: "c3cpu-a2-u7-3",
    });
  });

  test.each([
    ["Partition_Limit", "Partition_Limit"],
    ["UNLIMITED", "UNLIMITED"],
    ["", undefined],
  ])("time limit %j", (limit, expected) => {
    expect(parseSacct(line("9", "PENDING", "0:0", "", "n", limit)).get("9")?.timeLimit).toBe(expected);
  });

  test("steps without their allocation row are left out; CRLF and blank lines are fine", () => {
    expect([
      ...parseSacct(
        `\r\n${line("10.batch", "COMPLETED", "0:0")}\r\n${line("11", "COMPLETED", "0:0")}\r\n`,
      ).keys(),
    ]).toEqual(["11"]);
  });

  test("empty output: no jobs", () => {
    expect(parseSacct("").size).toBe(0);
  });

  test.each([
    ["too few fields", "5|n|COMPLETED|0:0"],
    ["a bad exit code", line("5", "FAILED", "x")],
    ["a bad MaxRSS", line("5", "COMPLETED", "0:0", "12Q")],
    ["a bad elapsed time", "5|n|COMPLETED|0:0|soon||8G|01:00:00|node|cpu=1"],
  ])("refuses %s", (_what, out) => {
    expect(() => parseSacct(out)).toThrow(SlurmOutputError);
  });
});
