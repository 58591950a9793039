/**
 * The sbatch/scancel/sacct side of the Slurm backend with a scripted transport and fake timers:
 * sbatch's refusals (real texts from test/fixtures/slurm/sbatch-refused-*.txt) become a
 * SubmitError in sbatch's words plus what to do; `--parsable` output is read; `final()` batches
 * the jobs asked about into one sacct and asks again while accounting still says RUNNING.
 */
import { ConnectionLostError } from "../../../../src/cluster/ssh-transport";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CommandError } from "../../../../src/cluster/transport";
import { SACCT_ARGS } from "../../../../src/jobs/slurm/parse-sacct";
import type { FinalJobStatus } from "../../../../src/jobs/scheduler";
import { SlurmScheduler, SubmitError, submitHint } from "../../../../src/jobs/slurm/slurm-scheduler";
import { ScriptedTransport, deferred, fixture, ok, refused, type Reply } from "./scripted-transport";

const HINT = {
  account: /^Check --account: `%slurm --account NAME`/,
  partition: /^Check --partition: `sinfo -s`/,
  time: /^Lower --time to at most the partition's MaxTime/,
  node: /^No node in that partition has what the cell asked for/,
  memory: /^Ask for less --mem/,
};

const spec = {
  scriptPath: "/home/alice/alpine-kernel/s1/cells/0001.sh",
  workDir: "/home/alice/work",
  stdoutPath: "/home/alice/alpine-kernel/s1/cells/0001.out",
  stderrPath: "/home/alice/alpine-kernel/s1/cells/0001.err",
  eventsPath: "/home/alice/alpine-kernel/s1/cells/0001.events.jsonl",
  tag: "alpine-kernel:s1/1",
  loginShell: true,
};

let scheduler: SlurmScheduler | undefined;
function start(respond: (argv: readonly string[], index: number) => Reply): ScriptedTransport {
  const t = new ScriptedTransport(respond);
  scheduler = new SlurmScheduler(t, { minIntervalMs: 1000, maxIntervalMs: 30_000 });
  return t;
}
afterEach(async () => {
  await scheduler?.close();
  scheduler = undefined;
  jest.useRealTimers();
});

describe("sbatch refusals (every sbatch-refused-*.txt fixture)", () => {
  const cases: [string, RegExp, string][] = [
    [
      "sbatch-refused-account-partition-typo.txt",
      HINT.account,
      "Batch job submission failed: Invalid account or account/partition combination specified",
    ],
    [
      "sbatch-refused-bad-account.txt",
      HINT.account,
      "Batch job submission failed: Invalid account or account/partition combination specified",
    ],
    [
      "sbatch-refused-bad-partition.txt",
      HINT.partition,
      "invalid partition specified: nosuch; Batch job submission failed: Invalid partition name specified",
    ],
    [
      "sbatch-refused-gpu-on-acpu.txt",
      HINT.node,
      "Batch job submission failed: Requested node configuration is not available",
    ],
    [
      "sbatch-refused-mem-too-large.txt",
      HINT.memory,
      "Memory specification can not be satisfied; Batch job submission failed: Requested node configuration is not available",
    ],
    [
      "sbatch-refused-no-account.txt",
      HINT.account,
      "Alpine policy: you must specify an account with --account=<name>; Batch job submission failed: Invalid account or account/partition combination specified",
    ],
    [
      "sbatch-refused-time-over-maxtime.txt",
      HINT.time,
      "Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)",
    ],
    [
      "sbatch-refused-too-many-gpus.txt",
      HINT.node,
      "Batch job submission failed: Requested node configuration is not available",
    ],
  ];

  test("the table covers every refusal fixture", () => {
    const files = readdirSync(join(__dirname, "../../../fixtures/slurm")).filter((f) =>
      f.startsWith("sbatch-refused-"),
    );
    expect(cases.map(([f]) => f).sort()).toEqual(files.sort());
  });

  test.each(cases)("%s: submitHint", (file, hint) => {
    expect(submitHint(fixture(file))).toMatch(hint);
  });

  test.each(cases)(
    "%s: submit() throws SubmitError with sbatch's words and the hint",
    async (file, hint, words) => {
      start(() => refused(fixture(file)));
      const err = await scheduler!.submit(spec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SubmitError);
      const e = err as SubmitError;
      expect(e.code).toBe("SUBMIT_REFUSED");
      expect(e.sbatchMessage).toBe(words);
      const [first, second, ...rest] = e.message.split("\n");
      expect(first).toBe(`sbatch refused the cell's job: ${words}`);
      expect(second).toMatch(hint);
      expect(rest).toEqual([]);
    },
  );

  test.each([
    [
      "a QOS refusal",
      "sbatch: error: Batch job submission failed: Invalid qos specification",
      /^Check --qos/,
    ],
    ["an unknown refusal", "sbatch: error: Batch job submission failed: Something new", /^$/],
  ])("%s", (_n, stderr, hint) => {
    expect(submitHint(stderr)).toMatch(hint);
  });

  test("an unknown refusal: sbatch's words alone", async () => {
    start(() => refused("sbatch: error: Batch job submission failed: Something new\n"));
    await expect(scheduler!.submit(spec)).rejects.toThrow(
      /^sbatch refused the cell's job: Batch job submission failed: Something new$/,
    );
  });

  test("sbatch missing (exit 127) is not a refusal: the command's error comes through", async () => {
    start(() => refused("bash: sbatch: command not found", 127));
    const err = await scheduler!.submit(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).not.toBeInstanceOf(SubmitError);
  });
});

describe("submit reads --parsable output", () => {
  const cases: [string, string, string][] = [
    ["a job id", "123\n", "123"],
    ["id;cluster (multi-cluster)", "123;alpine\n", "123"],
    ["no trailing newline", "4567", "4567"],
    ["a line printed before the id", "sbatch: Submitted to the default account\n88\n", "88"],
  ];
  test.each(cases)("%s", async (_n, stdout, id) => {
    const t = start(() => ok(stdout));
    await expect(scheduler!.submit(spec)).resolves.toBe(id);
    expect(t.calls.map((c) => c.argv)).toEqual([["sbatch", "--parsable", spec.scriptPath]]);
  });

  test.each([
    ["nothing", ""],
    ["prose", "Submitted batch job 123\n"],
  ])("output that is not an id (%s) is a SubmitError that quotes it", async (_n, stdout) => {
    start(() => ok(stdout));
    await expect(scheduler!.submit(spec)).rejects.toThrow(
      new SubmitError(`unexpected sbatch output ${JSON.stringify(stdout.trim())}`, ""),
    );
  });
});

describe("an sbatch whose answer was lost with the connection: never submitted twice", () => {
  const lost = () => new ConnectionLostError("sbatch was cut off (connection lost?)");
  const startedEvents = (jobId: string) =>
    Buffer.from(
      JSON.stringify({
        type: "start",
        time: 1,
        host: "c3cpu",
        pid: 9,
        python: "3.11.2",
        ipython: true,
        dill: true,
        job_id: jobId,
      }) + "\n",
    );

  function startWithEvents(
    respond: (argv: readonly string[], index: number) => Reply,
    events: Buffer | null,
  ): ScriptedTransport {
    const t = new (class extends ScriptedTransport {
      override async readFrom(): Promise<Buffer | null> {
        return events;
      }
    })(respond);
    scheduler = new SlurmScheduler(t, { minIntervalMs: 1000, maxIntervalMs: 30_000 });
    return t;
  }

  test("the job is in the queue with the cell's tag: adopted, no second sbatch", async () => {
    const t = startWithEvents(
      (argv) => (argv[0] === "sbatch" ? lost() : ok(`700|other\n701|${spec.tag}\n702|\n`)),
      null,
    );
    await expect(scheduler!.submit(spec)).resolves.toBe("701");
    expect(t.callsOf("sbatch")).toHaveLength(1);
    expect(t.callsOf("squeue")[0]!.argv).toEqual([
      "squeue",
      "--noheader",
      "--states=all",
      "--user",
      "alice",
      "--format=%i|%k",
    ]);
  });

  test("the job already ran and left the queue: its events name it", async () => {
    const t = startWithEvents((argv) => (argv[0] === "sbatch" ? lost() : ok("")), startedEvents("705"));
    await expect(scheduler!.submit(spec)).resolves.toBe("705");
    expect(t.callsOf("sbatch")).toHaveLength(1);
  });

  test("Slurm never got it: submitted again, once", async () => {
    const t = startWithEvents(
      (argv, i) => (argv[0] === "sbatch" ? (i === 0 ? lost() : ok("706\n")) : ok("")),
      null,
    );
    await expect(scheduler!.submit(spec)).resolves.toBe("706");
    expect(t.callsOf("sbatch")).toHaveLength(2);
  });
});

describe("scancel", () => {
  const cases: [string, "interrupt" | "cancel", Reply, string[], "ok" | "throws"][] = [
    [
      "interrupt: SIGINT to the whole job",
      "interrupt",
      ok(""),
      ["scancel", "--signal=INT", "--full", "77"],
      "ok",
    ],
    ["cancel", "cancel", ok(""), ["scancel", "77"], "ok"],
    [
      "cancel of a job already gone",
      "cancel",
      refused("scancel: error: Kill job error on job id 77: Invalid job id specified"),
      ["scancel", "77"],
      "ok",
    ],
    [
      "interrupt of a job completing",
      "interrupt",
      refused("scancel: error: Kill job error on job id 77: Job/step already completing or completed"),
      ["scancel", "--signal=INT", "--full", "77"],
      "ok",
    ],
    [
      "cancel refused for another reason",
      "cancel",
      refused("scancel: error: Kill job error on job id 77: Access/permission denied"),
      ["scancel", "77"],
      "throws",
    ],
  ];
  test.each(cases)("%s", async (_n, op, reply, argv, outcome) => {
    const t = start(() => reply);
    const p = scheduler![op]("77");
    if (outcome === "ok") await expect(p).resolves.toBeUndefined();
    else await expect(p).rejects.toThrow(/Access\/permission denied/);
    expect(t.calls.map((c) => c.argv)).toEqual([argv]);
  });
});

describe("final(): one sacct for every job asked about, again while accounting lags", () => {
  const END_STATES = fixture("sacct-end-states.txt");
  /** sacct's rows (allocation and steps) of the given jobs, from sacct-end-states.txt. */
  const rowsOf = (text: string, ids: string[]) =>
    text
      .split("\n")
      .filter((l) => ids.some((id) => l.startsWith(`${id}|`) || l.startsWith(`${id}.`)))
      .map((l) => `${l}\n`)
      .join("");
  const idsOf = (argv: readonly string[]) => argv[argv.indexOf("--jobs") + 1]!.split(",");
  const RUNNING_20 = rowsOf(fixture("sacct-running-pending.txt"), ["20"]);
  const COMPLETED_20 = rowsOf(fixture("sacct-completed.txt"), ["29"]).replace(/^29/gm, "20");

  beforeEach(() => jest.useFakeTimers({ now: 0 }));

  test("jobs asked about together share one sacct; each gets its own end state", async () => {
    const t = start((argv) => ok(rowsOf(END_STATES, idsOf(argv))));
    const finals = Promise.all(["19", "29", "30"].map((id) => scheduler!.final(id)));
    await jest.advanceTimersByTimeAsync(150);
    const got = await finals;
    expect(t.calls.map((c) => c.argv)).toEqual([["sacct", ...SACCT_ARGS, "--jobs", "19,29,30"]]);
    expect(got.map((f) => [f.jobId, f.state, f.exitCode, f.signal])).toEqual([
      ["19", "TIMEOUT", 0, 15],
      ["29", "COMPLETED", 0, 0],
      ["30", "FAILED", 3, 0],
    ]);
  });

  test("two asks for the same job share the sacct and the answer", async () => {
    const t = start((argv) => ok(rowsOf(END_STATES, idsOf(argv))));
    const both = Promise.all([scheduler!.final("30"), scheduler!.final("30")]);
    await jest.advanceTimersByTimeAsync(150);
    const [a, b] = await both;
    expect(a).toEqual(b);
    expect(t.calls).toHaveLength(1);
    expect(idsOf(t.calls[0]!.argv)).toEqual(["30"]);
  });

  const retries: [string, (i: number) => Reply, number[], Partial<FinalJobStatus>][] = [
    [
      "RUNNING twice, then COMPLETED",
      (i) => ok(i < 2 ? RUNNING_20 : COMPLETED_20),
      [150, 650, 1650],
      { state: "COMPLETED", exitCode: 0 },
    ],
    [
      "no record yet, then COMPLETED",
      (i) => ok(i < 1 ? "" : COMPLETED_20),
      [150, 650],
      { state: "COMPLETED" },
    ],
    [
      "accounting down (sacct fails), then COMPLETED",
      (i) =>
        i < 3
          ? refused("sacct: error: Problem talking to the database: Connection refused")
          : ok(COMPLETED_20),
      [150, 650, 1650, 3650],
      { state: "COMPLETED" },
    ],
    [
      "accounting down for minutes (9 failures): never called unknown, waited out",
      (i) =>
        i < 9
          ? refused(
              "sacct: error: slurm_persist_conn_open_without_init: failed to open persistent connection",
            )
          : ok(COMPLETED_20),
      [150, 650, 1650, 3650, 7650, 15650, 30650, 45650, 60650, 75650],
      { state: "COMPLETED" },
    ],
    [
      "RUNNING for ever: after the last retry, unknown with accounting's last word",
      () => ok(RUNNING_20),
      [150, 650, 1650, 3650, 7650, 15650, 30650],
      { state: "RUNNING", unknown: true, exitCode: 0, signal: 0 },
    ],
    [
      "never in accounting: after the last retry, UNKNOWN",
      () => ok(""),
      [150, 650, 1650, 3650, 7650, 15650, 30650],
      { state: "UNKNOWN", unknown: true },
    ],
  ];
  test.each(retries)("%s", async (_n, reply, times, expected) => {
    const t = start((_argv, i) => reply(i));
    let got: FinalJobStatus | undefined;
    void scheduler!.final("20").then((f) => (got = f));
    await jest.advanceTimersByTimeAsync(times[times.length - 1]! - 1);
    expect(got).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(got).toMatchObject({ jobId: "20", ...expected });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(t.calls.map((c) => c.at)).toEqual(times);
  });

  test("a job asked about while another is being retried joins the retry's sacct", async () => {
    const t = start((argv, i) => ok(i === 0 ? RUNNING_20 : rowsOf(END_STATES, idsOf(argv)) + COMPLETED_20));
    const first = scheduler!.final("20");
    await jest.advanceTimersByTimeAsync(150); // 20 still RUNNING: again at 650
    const second = scheduler!.final("29");
    await jest.advanceTimersByTimeAsync(500);
    expect((await first).state).toBe("COMPLETED");
    expect((await second).state).toBe("COMPLETED");
    expect(t.calls.map((c) => [c.at, idsOf(c.argv).join(",")])).toEqual([
      [150, "20"],
      [650, "20,29"],
    ]);
  });

  test("a job asked about while sacct runs waits for it: never two sacct at once", async () => {
    const slow = deferred<Reply>();
    let running = 0;
    let most = 0;
    const t = start(async (argv, i) => {
      most = Math.max(most, ++running);
      try {
        return await (i === 0 ? (slow.promise as Promise<never>) : ok(rowsOf(END_STATES, idsOf(argv))));
      } finally {
        running--;
      }
    });
    const first = scheduler!.final("29");
    await jest.advanceTimersByTimeAsync(150); // sacct for 29 is running (slow accounting)
    const second = scheduler!.final("30");
    await jest.advanceTimersByTimeAsync(1000);
    slow.resolve(ok(rowsOf(END_STATES, ["29"])));
    await jest.advanceTimersByTimeAsync(1000);
    expect((await first).state).toBe("COMPLETED");
    expect((await second).state).toBe("FAILED");
    expect(most).toBe(1);
    expect(t.calls.map((c) => idsOf(c.argv).join(","))).toEqual(["29", "30"]);
  });
});

describe("accounting(): %sacct's question goes through the same batched sacct", () => {
  const END_STATES = fixture("sacct-end-states.txt");
  const rowsOf = (ids: string[]) =>
    END_STATES.split("\n")
      .filter((l) => ids.some((id) => l.startsWith(`${id}|`) || l.startsWith(`${id}.`)))
      .map((l) => `${l}\n`)
      .join("");
  const idsOf = (argv: readonly string[]) => argv[argv.indexOf("--jobs") + 1]!.split(",");

  beforeEach(() => jest.useFakeTimers({ now: 0 }));

  test("shares one sacct with a final() asked at the same time; jobs accounting does not know are left out", async () => {
    const t = start((argv) => ok(rowsOf(idsOf(argv))));
    const final = scheduler!.final("19");
    const now = scheduler!.accounting(["29", "30", "404"]);
    await jest.advanceTimersByTimeAsync(150);
    const got = await now;
    expect(t.calls.map((c) => idsOf(c.argv).join(","))).toEqual(["19,29,30,404"]);
    expect([...got.keys()]).toEqual(["29", "30"]);
    expect(got.get("30")).toMatchObject({ state: "FAILED", exitCode: 3 });
    expect((await final).state).toBe("TIMEOUT");
  });

  test("an array's id brings every record of it: its tasks and its pending range", async () => {
    start(() => ok(fixture("sacct-array-cancelled.txt")));
    const now = scheduler!.accounting(["27"]);
    await jest.advanceTimersByTimeAsync(150);
    const got = await now;
    expect([...got.keys()]).toEqual(["27_0", "27_[1-3]"]);
    expect(got.get("27_[1-3]")).toMatchObject({ state: "CANCELLED" });
  });

  test("asks once, even about a job still running (no retry)", async () => {
    const t = start(() => ok(fixture("sacct-running-pending.txt")));
    const now = scheduler!.accounting(["20"]);
    await jest.advanceTimersByTimeAsync(150);
    expect((await now).get("20")?.state).toBe("RUNNING");
    await jest.advanceTimersByTimeAsync(60_000);
    expect(t.callsOf("sacct")).toHaveLength(1);
  });

  test("a failing sacct is the caller's error (a final() asked with it retries)", async () => {
    const t = start((_argv, i) =>
      i === 0 ? refused("sacct: error: Problem talking to the database") : ok(rowsOf(["19"])),
    );
    const final = scheduler!.final("19");
    const now = scheduler!.accounting(["29"]);
    const failed = expect(now).rejects.toThrow(/Problem talking to the database/);
    await jest.advanceTimersByTimeAsync(150);
    await failed;
    await jest.advanceTimersByTimeAsync(500);
    expect((await final).state).toBe("TIMEOUT");
    expect(t.callsOf("sacct")).toHaveLength(2);
  });
});
