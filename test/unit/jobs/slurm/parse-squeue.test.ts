/** The watcher's squeue format against real squeue 22.05 output (test/fixtures/slurm/README.md). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  SQUEUE_ARGS,
  SQUEUE_FORMAT,
  gpusOfTres,
  parseJobState,
  parseSqueue,
  parseTres,
} from "../../../../src/jobs/slurm/parse-squeue";
import type { JobStatus } from "../../../../src/jobs/scheduler";
import { SlurmOutputError } from "../../../../src/jobs/slurm/slurm-time";

const fixture = (name: string): string =>
  readFileSync(join(__dirname, "../../../fixtures/slurm", name), "utf8");

test("the format is the one the fixture was captured with", () => {
  expect(SQUEUE_FORMAT).toBe(
    "JobArrayID:|,State:|,Reason:|,Partition:|,NodeList:|,StartTime:|,TimeUsed:|,TimeLimit:|,NumCPUs:|,tres-alloc:|,Name:|",
  );
  expect(SQUEUE_ARGS).toEqual(["--noheader", "-O", SQUEUE_FORMAT]);
  expect(fixture("README.md")).toContain("squeue-kernel-format.txt");
});

describe("parseSqueue on squeue-kernel-format.txt (running, pending for every reason, GPU, array)", () => {
  const statuses = parseSqueue(fixture("squeue-kernel-format.txt"));
  const expected: JobStatus[] = [
    {
      jobId: "29",
      state: "PENDING",
      reason: "Resources",
      partition: "aa100",
      startTime: "2026-11-25T14:50:43",
      elapsed: "0:00",
      timeLimit: "10:00",
      cpus: 1,
      memory: "1000M",
      gpus: 2, // --gpus=2: only tres-alloc shows it
      billing: 1,
      name: "cell-gpu-pending",
    },
    {
      jobId: "26",
      state: "RUNNING",
      reason: "None",
      partition: "aa100",
      node: "c3gpu-a1-u1-1",
      startTime: "2026-11-25T13:50:43",
      elapsed: "0:15",
      timeLimit: "1:00:00",
      cpus: 2,
      memory: "4G",
      gpus: 1,
      billing: 2,
      name: "cell-gpu",
    },
    {
      jobId: "27_[1-3]", // the array's pending tasks, as one row
      state: "PENDING",
      reason: "Resources",
      partition: "acpu",
      startTime: "2026-11-25T14:20:00",
      elapsed: "0:00",
      timeLimit: "10:00",
      cpus: 1,
      memory: "500M",
      billing: 1,
      name: "cell-array",
    },
    {
      jobId: "28",
      state: "PENDING",
      reason: "Priority",
      partition: "acpu",
      startTime: "2026-11-25T14:30:00",
      elapsed: "0:00",
      timeLimit: "10:00",
      cpus: 4,
      memory: "4000M",
      billing: 4,
      name: "cell-pending-resources",
    },
    {
      jobId: "31",
      state: "PENDING",
      reason: "BeginTime",
      partition: "acpu",
      startTime: "2026-11-25T14:50:42", // the --begin time
      elapsed: "0:00",
      timeLimit: "1-00:00:00",
      cpus: 1,
      memory: "1000M",
      billing: 1,
      name: "cell-begin",
    },
    {
      jobId: "30",
      state: "PENDING",
      reason: "JobHeldUser", // StartTime N/A: no startTime
      partition: "acpu",
      elapsed: "0:00",
      timeLimit: "10:00",
      cpus: 1,
      memory: "1000M",
      billing: 1,
      name: "cell-held",
    },
    {
      jobId: "24",
      state: "RUNNING",
      reason: "None",
      partition: "acpu",
      node: "c3cpu-a1-u1-1",
      startTime: "2026-11-25T13:50:43",
      elapsed: "0:15",
      timeLimit: "30:00",
      cpus: 4,
      memory: "2G",
      billing: 4,
      name: "cell-running",
    },
    {
      jobId: "25",
      state: "RUNNING",
      reason: "None",
      partition: "acpu",
      node: "c3cpu-a1-u1-1",
      startTime: "2026-11-25T13:50:43",
      elapsed: "0:15",
      timeLimit: "2:00:00",
      cpus: 3,
      memory: "3000M",
      billing: 3,
      name: "cell 7: plot",
    },
    {
      jobId: "27_0", // -O JobID would say 32 here
      state: "RUNNING",
      reason: "None",
      partition: "acpu",
      node: "c3cpu-a1-u1-1",
      startTime: "2026-11-25T13:50:43",
      elapsed: "0:15",
      timeLimit: "10:00",
      cpus: 1,
      memory: "500M",
      billing: 1,
      name: "cell-array",
    },
  ];
  test.each(expected.map((e, i) => [e.jobId, e.name, i] as const))("job %s (%s)", (_id, _name, i) => {
    expect(statuses[i]).toEqual(expected[i]);
  });
  test("one status per row, nothing else", () => {
    expect(statuses).toHaveLength(expected.length);
  });
});

describe("parseSqueue on rows squeue can print (synthetic)", () => {
  const row = (fields: Partial<Record<string, string>>): string => {
    const f = {
      id: "8812101",
      state: "RUNNING",
      reason: "None",
      partition: "acpu",
      nodes: "c3cpu-a2-u7-3",
      start: "2026-11-25T09:41:00",
      used: "1-02:03:04",
      limit: "7-00:00:00",
      cpus: "64",
      tres: "cpu=64,mem=250G,node=1,billing=64",
      name: "ak-analysis-c2",
      ...fields,
    };
    return `${f.id}|${f.state}|${f.reason}|${f.partition}|${f.nodes}|${f.start}|${f.used}|${f.limit}|${f.cpus}|${f.tres}|${f.name}|`;
  };

  test.each<[string, string, Partial<JobStatus>]>([
    ["a name holding |", row({ name: "a|b|c" }), { name: "a|b|c" }],
    ["a name with trailing spaces", row({ name: "x  " }), { name: "x  " }],
    ["start Unknown", row({ start: "Unknown" }), { startTime: undefined }],
    ["start N/A", row({ start: "N/A" }), { startTime: undefined }],
    ["no time limit", row({ limit: "UNLIMITED" }), { timeLimit: "UNLIMITED" }],
    ["time used INVALID", row({ used: "INVALID" }), { elapsed: undefined }],
    ["node list of several nodes", row({ nodes: "c3cpu-a2-u7-[1-4]" }), { node: "c3cpu-a2-u7-[1-4]" }],
    ["memory in T", row({ tres: "cpu=1,mem=1T,node=1" }), { memory: "1T" }],
    ["memory 1.5G", row({ tres: "cpu=1,mem=1536M,node=1" }), { memory: "1.5G" }],
    ["no tres at all", row({ tres: "" }), { memory: undefined, gpus: undefined, billing: undefined }],
    ["billing units", row({ tres: "cpu=2,mem=4G,node=1,billing=7,gres/gpu=1" }), { billing: 7 }],
    ["billing 0 (no weights): none", row({ tres: "cpu=2,billing=0" }), { billing: undefined }],
    ["typed GPUs only", row({ tres: "cpu=1,mem=1G,gres/gpu:a100=2,gres/gpu:l40=1" }), { gpus: 3 }],
    ["typed and untyped GPUs", row({ tres: "cpu=1,gres/gpu=2,gres/gpu:a100=2" }), { gpus: 2 }],
    ["an array task", row({ id: "8812150_4" }), { jobId: "8812150_4" }],
    ["a heterogeneous component", row({ id: "8812160+1" }), { jobId: "8812160+1" }],
    ["state with a suffix word", row({ state: "CANCELLED by 1001" }), { state: "CANCELLED" }],
    ["a state we map", row({ state: "REQUEUE_HOLD" }), { state: "REQUEUED" }],
    ["a state we do not know", row({ state: "NEW_STATE" }), { state: "UNKNOWN" }],
  ])("%s", (_what, line, expected) => {
    const [status] = parseSqueue(line + "\n");
    for (const [k, v] of Object.entries(expected)) expect(status![k as keyof JobStatus]).toEqual(v);
    if ("startTime" in expected && expected.startTime === undefined)
      expect(status).not.toHaveProperty("startTime");
  });

  test("a full row, with CRLF and blank lines around it", () => {
    expect(parseSqueue(`\r\n${row({})}\r\n\n`)).toEqual([
      {
        jobId: "8812101",
        state: "RUNNING",
        reason: "None",
        partition: "acpu",
        node: "c3cpu-a2-u7-3",
        startTime: "2026-11-25T09:41:00",
        elapsed: "1-02:03:04",
        timeLimit: "7-00:00:00",
        cpus: 64,
        memory: "250G",
        billing: 64,
        name: "ak-analysis-c2",
      },
    ]);
  });

  test("empty output: no jobs", () => {
    expect(parseSqueue("")).toEqual([]);
  });

  test.each([
    [
      "another format's row (squeue-o.txt)",
      fixture("squeue-o.txt").split("\n")[0]!.split("|").slice(0, 8).join("|"),
    ],
    ["a header line", "JOBID|STATE|REASON|"],
    ["a row without an id", "|RUNNING|None|acpu||N/A|0:00|1:00|1|cpu=1|x|"],
    ["a bad memory size", row({ tres: "cpu=1,mem=lots" })],
  ])("refuses %s", (_what, line) => {
    expect(() => parseSqueue(line)).toThrow(SlurmOutputError);
  });
});

describe("parseJobState", () => {
  test.each([
    ["RUNNING", "RUNNING"],
    ["running", "RUNNING"],
    ["CANCELLED by 0", "CANCELLED"],
    ["OUT_OF_MEMORY", "OUT_OF_MEMORY"],
    ["RESV_DEL_HOLD", "PENDING"],
    ["SIGNALING", "COMPLETING"],
    ["STOPPED", "SUSPENDED"],
    ["", "UNKNOWN"],
  ])("%j → %s", (text, state) => {
    expect(parseJobState(text)).toBe(state);
  });
});

test("parseTres/gpusOfTres on a fixture's tres-alloc", () => {
  const tres = parseTres("cpu=1,mem=1000M,node=1,billing=1,gres/gpu=2");
  expect(Object.fromEntries(tres)).toEqual({
    cpu: "1",
    mem: "1000M",
    node: "1",
    billing: "1",
    "gres/gpu": "2",
  });
  expect(gpusOfTres(tres)).toBe(2);
  expect(gpusOfTres(parseTres("cpu=8,mem=16000M,node=1,billing=8"))).toBe(0);
});
