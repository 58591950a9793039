/**
 * Submitting while the Slurm controller does not answer (issue 10, defect 3), with a scripted
 * transport and fake timers: an outage is told from a refusal, sbatch is retried with backoff and
 * jitter while `onWaiting` says why, the cell's tag is looked up before every retry after an
 * attempt that may have queued the job (never two jobs), and a withdrawn submission stops — but
 * not before Slurm has said whether a job exists.
 */
import { SubmitCancelledError, backoffMs, isOutage, mayHaveQueued } from "../../../../src/jobs/slurm/outage";
import { SlurmScheduler, SubmitError } from "../../../../src/jobs/slurm/slurm-scheduler";
import { CommandError } from "../../../../src/cluster/transport";
import { ScriptedTransport, ok, refused, type Reply } from "./scripted-transport";

const spec = {
  scriptPath: "/home/alice/ak/s1/cells/0003.sh",
  workDir: "/home/alice/work",
  stdoutPath: "/home/alice/ak/s1/cells/0003.out",
  stderrPath: "/home/alice/ak/s1/cells/0003.err",
  eventsPath: "/home/alice/ak/s1/cells/0003.events.jsonl",
  tag: "alpine-kernel:s1/3",
  loginShell: true,
};

const TIMED_OUT = "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation\n";
const NO_CONTROLLER =
  "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n";
const SQUEUE_DOWN = "slurm_load_jobs error: Socket timed out on send/recv operation\n";

let scheduler: SlurmScheduler | undefined;
function start(respond: (argv: readonly string[], index: number) => Reply): ScriptedTransport {
  const t = new ScriptedTransport(respond);
  scheduler = new SlurmScheduler(t, { minIntervalMs: 1000, maxIntervalMs: 30_000 });
  return t;
}
beforeEach(() => jest.useFakeTimers());
afterEach(async () => {
  await scheduler?.close();
  scheduler = undefined;
  jest.useRealTimers();
});

/** Submits and lets fake time run until it settles (at most ten minutes of it). */
async function submitted(control: Parameters<SlurmScheduler["submit"]>[1] = {}): Promise<string> {
  const p = scheduler!.submit(spec, control);
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 600 && !settled; i++) await jest.advanceTimersByTimeAsync(1000);
  return p;
}

describe("outage or refusal", () => {
  test.each([
    [TIMED_OUT, true, true],
    [NO_CONTROLLER, true, false],
    [
      "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified\n",
      false,
      true,
    ],
    [
      "sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)\n",
      false,
      true,
    ],
  ])("%s → outage %s, may have queued %s", (stderr, outage, maybe) => {
    const err = new CommandError(["sbatch", "--parsable", "x.sh"], 1, "", stderr);
    expect(isOutage(err)).toBe(outage);
    if (outage) expect(mayHaveQueued(err)).toBe(maybe);
  });

  test("sbatch missing is neither (exit 127)", () => {
    expect(isOutage(new CommandError(["sbatch"], 127, "", "sbatch: command not found"))).toBe(false);
  });

  test("backoff doubles from 1 s to 30 s, each within ±30 %", () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffMs(a, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffMs(3, () => 0)).toBe(5600);
    expect(backoffMs(3, () => 1)).toBe(10400);
  });
});

describe("sbatch while the controller does not answer", () => {
  test("a refusal is not retried: SubmitError at once", async () => {
    const t = start(() =>
      refused("sbatch: error: Batch job submission failed: Invalid partition name specified\n"),
    );
    await expect(submitted()).rejects.toBeInstanceOf(SubmitError);
    expect(t.callsOf("sbatch")).toHaveLength(1);
  });

  test("controller unreachable twice (the request never left): retried, no lookup needed, then the id", async () => {
    const waiting: (string | undefined)[] = [];
    const t = start((argv) =>
      argv[0] !== "sbatch" ? ok("") : t.callsOf("sbatch").length < 3 ? refused(NO_CONTROLLER) : ok("812\n"),
    );
    await expect(submitted({ onWaiting: (m) => waiting.push(m) })).resolves.toBe("812");
    expect(t.callsOf("sbatch")).toHaveLength(3);
    expect(t.callsOf("squeue")).toHaveLength(0);
    expect(waiting).toHaveLength(3);
    expect(waiting[0]).toMatch(
      /^the Slurm controller is not answering \(Batch job submission failed: Unable to contact slurm controller \(connect failure\)\); submitting again in \d s \(attempt 2\)$/,
    );
    expect(waiting[1]).toMatch(/attempt 3\)$/);
    expect(waiting[2]).toBeUndefined();
  });

  test("sbatch timed out but Slurm queued the job: the tag finds it, never a second sbatch", async () => {
    const t = start((argv) =>
      argv[0] === "sbatch" ? refused(TIMED_OUT) : ok(`900|someone-else\n901|${spec.tag}\n`),
    );
    await expect(submitted()).resolves.toBe("901");
    expect(t.callsOf("sbatch")).toHaveLength(1);
    expect(t.callsOf("squeue")[0]!.argv).toContain("--states=all");
  });

  test("timed out, the lookup itself fails while the outage lasts, then finds nothing: submitted once more", async () => {
    const waiting: (string | undefined)[] = [];
    let lookups = 0;
    const t = start((argv) => {
      if (argv[0] === "squeue") return ++lookups < 4 ? refused(SQUEUE_DOWN) : ok("");
      return t.callsOf("sbatch").length === 1 ? refused(TIMED_OUT) : ok("902\n");
    });
    await expect(submitted({ onWaiting: (m) => waiting.push(m) })).resolves.toBe("902");
    expect(t.callsOf("sbatch")).toHaveLength(2);
    expect(lookups).toBe(5);
    // The second sbatch came after two lookups, 3 s apart, that both answered "no such job".
    const order = t.calls.map((c) => c.argv[0]);
    expect(order).toEqual(["sbatch", "squeue", "squeue", "squeue", "squeue", "squeue", "sbatch"]);
    const [first, second] = t.callsOf("squeue").slice(3);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(3000);
    expect(waiting[0]).toMatch(/looking for the job and submitting again/);
  });

  test("the first answer after the freeze misses the job Slurm still holds: the second lookup finds it, one sbatch", async () => {
    let lookups = 0;
    const t = start((argv) => {
      if (argv[0] === "squeue") return ++lookups === 1 ? ok("900|someone-else\n") : ok(`904|${spec.tag}\n`);
      return refused(TIMED_OUT);
    });
    await expect(submitted()).resolves.toBe("904");
    expect(t.callsOf("sbatch")).toHaveLength(1);
    expect(lookups).toBe(2);
  });

  test("retries are spread out: waits grow, with jitter", async () => {
    const t = start(() => refused(NO_CONTROLLER));
    const control = new AbortController();
    const p = scheduler!.submit(spec, { signal: control.signal });
    await jest.advanceTimersByTimeAsync(120_000);
    control.abort();
    await expect(p).rejects.toBeInstanceOf(SubmitCancelledError);
    const at = t.callsOf("sbatch").map((c) => c.at);
    const gaps = at.slice(1).map((x, i) => x - at[i]!);
    expect(gaps.length).toBeGreaterThan(4);
    expect(gaps.length).toBeLessThan(12);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(39_000);
  });

  test("withdrawn while nothing can have been queued: stops at once, SubmitCancelled", async () => {
    const t = start(() => refused(NO_CONTROLLER));
    const control = new AbortController();
    const p = scheduler!.submit(spec, { signal: control.signal });
    await jest.advanceTimersByTimeAsync(10);
    control.abort();
    await expect(p).rejects.toThrow(/nothing was submitted/);
    expect(t.callsOf("sbatch")).toHaveLength(1);
  });

  test("withdrawn after a timed-out sbatch: looks until Slurm answers, and hands over the job it finds (to be cancelled)", async () => {
    let lookups = 0;
    const control = new AbortController();
    const t = start((argv) => {
      if (argv[0] === "squeue") return ++lookups < 3 ? refused(SQUEUE_DOWN) : ok(`903|${spec.tag}\n`);
      control.abort(); // the user interrupts while this sbatch hangs
      return refused(TIMED_OUT);
    });
    await expect(submitted({ signal: control.signal })).resolves.toBe("903");
    expect(t.callsOf("sbatch")).toHaveLength(1);
    expect(lookups).toBe(3);
  });
});
