/**
 * Cells that run after others (`%%slurm --after CELL|JOBID`) on the test cluster: a chain of three
 * cells whose middle one fails — the last one's status line says what it waits for, and it ends
 * DependencyNeverSatisfied (its job cancelled) instead of waiting for ever; a chain that succeeds
 * runs in order; a cell after one that already failed is refused before submission.
 */
import { execFileSync } from "node:child_process";
import { openKernel } from "../helpers/ssh";
import { requireCluster, startSlurmServer, streamText, type SlurmServer } from "../helpers/slurm";
import type { WsKernelClient } from "../helpers/ws-client";
import type { WireMessage } from "../helpers/zmq-client";

const statusLines = (msgs: WireMessage[]): string[] =>
  msgs
    .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"] ?? "").split("\n")[0]!);
const jobIdOf = (msgs: WireMessage[]) => /job (\d+)/.exec(statusLines(msgs).join("\n"))![1]!;

let server: SlurmServer;
let kernel: WsKernelClient;
beforeAll(async () => {
  server = await startSlurmServer(requireCluster());
  kernel = await openKernel(server, "chain.ipynb");
});
afterAll(async () => {
  kernel?.close();
  server?.cancelJobs();
  await server?.stop();
});

test("a chain of three whose middle cell fails: the last waits for it, then says it can never start", async () => {
  const a = await kernel.execute(
    "%%slurm --detach\nimport time; time.sleep(4)\nopen('a.done', 'w').write('a')",
  );
  const b = await kernel.execute(
    "%%slurm --detach --after 1\nimport os\nassert os.path.exists('a.done')\nraise RuntimeError('the middle fails')",
  );
  expect(a.reply.content.status).toBe("ok");
  expect(b.reply.content.status).toBe("ok");
  const [jobA, jobB] = [jobIdOf(a.iopub), jobIdOf(b.iopub)];
  const msgId = await kernel.startExecute("%%slurm --after 2\nprint('never')");
  const waiting = await kernel.waitFor(
    "the status line saying what it waits for",
    (m) =>
      m.parent_header.msg_id === msgId &&
      statusLines([m]).some((l) => l.includes(`waiting for cell 2 (job ${jobB})`)),
    30_000,
  );
  const jobC = jobIdOf([waiting]);
  expect(statusLines([waiting])[0]).toMatch(
    new RegExp(`^… queued as job ${jobC} on acpu — waiting for cell 2 \\(job ${jobB}\\), waiting`),
  );
  const reply = await kernel.reply(msgId, 90_000);
  expect(reply.content).toMatchObject({ status: "error", ename: "DependencyNeverSatisfied" });
  expect(reply.content.evalue).toBe(
    `job ${jobC} can never start: it runs only after cell 2 (job ${jobB}) completed successfully (--after), and that failed; its job was cancelled. Run it again, then this cell.`,
  );
  expect(statusLines(kernel.iopubFor(msgId)).at(-1)).toMatch(
    /^✖ job \d+ ended with DependencyNeverSatisfied/,
  );
  // What Slurm itself says: the first ran, the middle failed, the last was cancelled, never run.
  const sacct = execFileSync(
    "sacct",
    ["-X", "-n", "-P", "-o", "JobID,State,Start", "-j", `${jobA},${jobB},${jobC}`],
    {
      encoding: "utf8",
    },
  );
  expect(sacct).toMatch(new RegExp(`^${jobA}\\|COMPLETED\\|`, "m"));
  expect(sacct).toMatch(new RegExp(`^${jobB}\\|FAILED\\|`, "m"));
  expect(sacct).toMatch(new RegExp(`^${jobC}\\|CANCELLED`, "m"));
  // The middle cell's own failure shows under its status line.
  const bDisplay = (
    b.iopub.find((m) => m.header.msg_type === "display_data")!.content.transient as { display_id: string }
  ).display_id;
  await kernel.waitFor(
    "the middle cell's end under its status line",
    (m) =>
      m.header.msg_type === "update_display_data" &&
      (m.content.transient as { display_id?: string }).display_id === bDisplay &&
      /✖ detached job .*RuntimeError/s.test(String((m.content.data as Record<string, string>)["text/plain"])),
    30_000,
  );
}, 150_000);

test("a chain that succeeds runs in order; a job id works as well as a cell", async () => {
  const a = await kernel.execute(
    "%%slurm --detach\nimport time; time.sleep(3)\nopen('b.done', 'w').write('b')",
  );
  const jobA = jobIdOf(a.iopub);
  const r = await kernel.execute(`%%slurm --after ${jobA}\nprint(open('b.done').read())`, {
    timeoutMs: 90_000,
  });
  expect(r.reply.content.status).toBe("ok");
  expect(streamText(r.iopub)).toBe("b\n");
  expect(statusLines(r.iopub).some((l) => l.includes(`waiting for cell 4 (job ${jobA})`))).toBe(true);
  // That cell has completed: nothing to wait for, said; runs at once.
  const again = await kernel.execute("%%slurm --after 4\nprint('after a completed cell')", {
    timeoutMs: 90_000,
  });
  expect(streamText(again.iopub, "stderr")).toBe(
    `alpine-kernel: cell 4 (job ${jobA}) has already completed: nothing to wait for\n`,
  );
  expect(streamText(again.iopub)).toBe("after a completed cell\n");
}, 150_000);

test("after a cell that already failed: refused, nothing submitted", async () => {
  const before = (await server.metrics()).commands.sbatch ?? 0;
  const r = await kernel.execute("%%slurm --after 2\nprint('x')");
  expect(r.reply.content).toMatchObject({ status: "error", ename: "MagicError" });
  expect(r.reply.content.evalue).toMatch(
    /^--after 2: cell 2 \(job \d+\) ended FAILED, so this cell would never start; run cell 2 again first \(nothing was submitted\)/,
  );
  expect((await server.metrics()).commands.sbatch ?? 0).toBe(before);
});
