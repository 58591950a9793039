/**
 * Start-time hints: the batched `sbatch --test-only` command and its parser (on real output from
 * the test cluster), the requests worth trying, and the engine's budget and choices — over a
 * scripted transport, with fake timers.
 */
import { renderJobScript } from "../../../../src/jobs/job-script";
import { ClusterDiscovery } from "../../../../src/jobs/slurm/discovery";
import { hintCandidates, scriptOptions } from "../../../../src/jobs/slurm/hint-candidates";
import { parseClusterInfo } from "../../../../src/jobs/slurm/parse-cluster";
import { StartHints, hintText, type StartHint } from "../../../../src/jobs/slurm/start-hints";
import { parseTestOnly, testOnlyArgv } from "../../../../src/jobs/slurm/test-only";
import { SlurmWatcher } from "../../../../src/jobs/slurm/watcher";
import { ScriptedTransport, fixture, ok, squeueOutput, squeueRow, type Reply } from "./scripted-transport";

const INFO = parseClusterInfo(
  {
    partitions: fixture("scontrol-show-partition.txt"),
    nodeSizes: fixture("sinfo-node-sizes.txt"),
    user: fixture("sacctmgr-user-withassoc.txt"),
  },
  0,
);

function script(sbatch: [string, string?][]): string {
  return renderJobScript({
    jobName: "ak-nb-c1",
    sbatch,
    stdoutPath: "/s/cells/0001.out",
    stderrPath: "/s/cells/0001.err",
    workDir: "/w",
    environment: { modules: [], setup: [], python: "python" },
    runnerPath: "/r/alpine_kernel_runner.py",
    runnerArgs: [],
    description: "cell 1",
    umask: "077",
  });
}

describe("sbatch --test-only in one command", () => {
  test("each question's arguments stay argv words, ended by ::", () => {
    const argv = testOnlyArgv([
      { overrides: ["--time=0:30:00"], scriptPath: "/s/a b.sh" },
      { overrides: ["--comment=$(rm -rf ~)"], scriptPath: "/s/c.sh" },
    ]);
    expect(argv.slice(0, 2)).toEqual(["bash", "-c"]);
    expect(argv.slice(4)).toEqual([
      "--time=0:30:00",
      "/s/a b.sh",
      "::",
      "--comment=$(rm -rf ~)",
      "/s/c.sh",
      "::",
    ]);
    expect(argv[2]).not.toContain("rm -rf");
  });

  test("the test cluster's answers: starts, a refusal, an unknown partition", () => {
    const { clusterNow, answers } = parseTestOnly(fixture("sbatch-test-only-batch.txt"), 5);
    expect(clusterNow).toBe("2026-12-01T16:05:49");
    expect(answers[0]).toEqual({
      ok: true,
      startsAt: "2026-12-01T19:05:47",
      processors: 4,
      nodes: "c3cpu-a1-u1-1",
      partition: "acpu",
    });
    expect(answers[1]).toMatchObject({ ok: true, partition: "aa100", startsAt: "2026-12-01T16:05:49" });
    expect(answers[2]).toEqual({
      ok: false,
      message: "allocation failure: More processors requested than permitted",
    });
    expect(answers[3]).toEqual({
      ok: false,
      message: "invalid partition specified: nope; allocation failure: Invalid partition name specified",
    });
    expect(answers[4]).toEqual({ ok: false, message: "no answer" }); // cut short
  });
});

describe("requests worth trying", () => {
  test("the script's own options, read back from renderJobScript's #SBATCH lines", () => {
    const opts = scriptOptions(
      script([["--partition", "acpu"], ["--time", "1-00:00:00"], ["--comment", 'say "hi"'], ["--exclusive"]]),
    );
    expect(opts.get("--partition")).toBe("acpu");
    expect(opts.get("--time")).toBe("1-00:00:00");
    expect(opts.get("--comment")).toBe('say "hi"');
    expect(opts.get("--exclusive")).toBe("");
    expect(opts.get("--output")).toBe("/s/cells/0001.out");
  });

  test("a long CPU job: shorter times, fewer CPUs, less memory — not the partitions on the same node, not GPUs", () => {
    const opts = new Map([
      ["--time", "12:00:00"],
      ["--cpus-per-task", "4"],
      ["--mem", "8G"],
    ]);
    expect(hintCandidates(opts, INFO, "acpu").map((c) => c.label)).toEqual([
      "-t 4:00:00",
      "-t 1:00:00",
      "-c 2",
      "--mem 4G",
    ]);
  });

  test("partitions on other nodes that fit and that the account may use", () => {
    const info = {
      ...INFO,
      partitions: INFO.partitions.map((p) => (p.name === "amem" ? { ...p, nodes: "c3mem-1" } : p)),
    };
    const c = hintCandidates(new Map([["--time", "0:20:00"]]), info, "acpu");
    expect(c.map((x) => x.label)).toEqual(["-p amem"]);
    expect(c[0]!.overrides).toEqual(["--partition=amem"]);
    // ...not when the job is over its time limit, nor when the account does not cover it.
    expect(
      hintCandidates(new Map([["--time", "8-00:00:00"]]), info, "acpu").map((x) => x.label),
    ).not.toContain("-p amem");
    const only = { ...info, associations: [{ account: "ucb-general", partition: "acpu", qos: [] }] };
    expect(hintCandidates(new Map([["--time", "0:20:00"]]), only, "acpu")).toEqual([]);
  });

  test("a GPU job is offered only GPU partitions", () => {
    const info = {
      ...INFO,
      partitions: [
        ...INFO.partitions,
        { ...INFO.partitions.find((p) => p.name === "aa100")!, name: "al40", nodes: "c3l40" },
      ],
    };
    const c = hintCandidates(
      new Map([
        ["--gres", "gpu:1"],
        ["--time", "0:20:00"],
      ]),
      info,
      "aa100",
    );
    expect(c.map((x) => x.label)).toEqual(["-p al40"]);
  });
});

describe("the engine", () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse("2026-12-01T16:00:00") }));
  afterEach(() => jest.useRealTimers());

  const SCRIPT = script([
    ["--partition", "acpu"],
    ["--cpus-per-task", "4"],
    ["--time", "0:10:00"],
    ["--mem", "1G"],
  ]);

  /** `pending`: job ids waiting on Resources; `startsNow(argv)`: whether a question's request starts now. */
  function cluster(pending: string[], startsNow: (args: string[]) => boolean) {
    const t = new (class extends ScriptedTransport {
      override async readFile(): Promise<Buffer> {
        return Buffer.from(SCRIPT);
      }
    })((argv): Reply => {
      if (argv[0] === "squeue")
        return squeueOutput(...pending.map((id) => squeueRow(id, "PENDING", "Resources")));
      if (argv[0] === "scontrol") return ok(fixture("scontrol-show-partition.txt"));
      if (argv[0] === "sinfo") return ok(fixture("sinfo-node-sizes.txt"));
      if (argv[0] === "sacctmgr") return ok(fixture("sacctmgr-user-withassoc.txt"));
      const groups: string[][] = [[]];
      for (const a of argv.slice(4))
        if (a === "::") groups.push([]);
        else groups.at(-1)!.push(a);
      const body = groups
        .slice(0, -1)
        .map((g) => {
          const at = startsNow(g) ? "2026-12-01T16:00:05" : "2026-12-01T20:00:00";
          return `sbatch: Job 9 to start at ${at} using 2 processors on nodes c3cpu-a1-u1-1 in partition acpu\n::status 0\n`;
        })
        .join("");
      return ok(`2026-12-01T16:00:05\n${body}`);
    });
    const watcher = new SlurmWatcher(t, { minIntervalMs: 1000, maxIntervalMs: 5000 });
    return { t, watcher, discovery: new ClusterDiscovery(t, 600_000) };
  }

  test("a waiting cell is told the first request that starts now, and the search stops there", async () => {
    const { t, watcher, discovery } = cluster(["41"], (g) => g.includes("--cpus-per-task=2"));
    const hints = new StartHints(t, discovery, watcher, {
      callsPerMinute: 4,
      afterMs: 2000,
      refreshMs: 300_000,
    });
    const seen: (StartHint | undefined)[] = [];
    hints.watch("41", "/s/cells/0001.sh", (h) => seen.push(h));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(seen.at(-1)).toMatchObject({ options: "-c 2", partition: "acpu", now: true });
    expect(seen.at(-1)!.text).toBe("`-c 2` would start now on acpu");
    const asked = t.callsOf("bash").flatMap((c) => c.argv.slice(4).filter((a) => a.startsWith("--")));
    expect(asked).toEqual(["--cpus-per-task=2"]); // -t steps are not shorter than 0:10:00
    hints.close();
    watcher.close();
  });

  test("never more questions than the budget, however many cells wait", async () => {
    const ids = Array.from({ length: 10 }, (_, i) => String(50 + i));
    const { t, watcher, discovery } = cluster(ids, () => false);
    const hints = new StartHints(t, discovery, watcher, {
      callsPerMinute: 3,
      afterMs: 0,
      refreshMs: 300_000,
    });
    for (const id of ids) hints.watch(id, `/s/cells/${id}.sh`, () => {});
    await jest.advanceTimersByTimeAsync(3 * 60_000);
    const questions = t.callsOf("bash").map((c) => c.argv.slice(4).filter((a) => a === "::").length);
    const total = questions.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(3 * 3 + 3); // 3 a minute, plus the first full bucket
    expect(hints.calls).toBe(total);
    hints.close();
    watcher.close();
  });

  test("no hint when nothing starts sooner than the cell's own estimate", async () => {
    const { t, watcher, discovery } = cluster(["41"], () => false);
    const hints = new StartHints(t, discovery, watcher, {
      callsPerMinute: 6,
      afterMs: 0,
      refreshMs: 300_000,
    });
    const seen: (StartHint | undefined)[] = [];
    hints.watch("41", "/s/cells/0001.sh", (h) => seen.push(h));
    await jest.advanceTimersByTimeAsync(60_000);
    // The cell's own estimate (the fixture row's StartTime) is sooner than 20:00: nothing to say.
    expect(t.callsOf("bash").length).toBeGreaterThan(0);
    expect(seen.filter(Boolean)).toEqual([]);
    expect(
      hintText({ options: "-c 2", partition: "acpu", startsAt: "2026-12-01T20:00:00", now: false }),
    ).toBe("`-c 2` would start at 20:00 on acpu");
    hints.close();
    watcher.close();
  });
});
