/**
 * sacct rows (allocation + steps) merged into one {@link FinalJobStatus} per job. Pure.
 * See test/fixtures/slurm/README.md for what each field holds in each end state.
 */
import { billingOfTres } from "./billing";
import { parseJobState } from "./parse-squeue";
import type { FinalJobStatus } from "../scheduler";
import { SlurmOutputError, formatDuration, formatMemory, parseRss, parseSlurmDuration } from "./slurm-time";

const FIELDS = [
  "JobID",
  "JobName",
  "State",
  "ExitCode",
  "Elapsed",
  "MaxRSS",
  "ReqMem",
  "Timelimit",
  "NodeList",
  "AllocTRES",
] as const;

/** The `sacct --format` the kernel asks for. */
export const SACCT_FORMAT = FIELDS.join(",");

/** sacct arguments before `--jobs IDS`: one row per allocation and per step, `|`-separated, no header. */
export const SACCT_ARGS: readonly string[] = ["--parsable2", "--noheader", `--format=${SACCT_FORMAT}`];

interface Row {
  id: string;
  allocTres: string;
  state: string;
  exitCode: string;
  elapsed: string;
  maxRss: string;
  reqMem: string;
  timeLimit: string;
  nodes: string;
}

function splitRow(line: string): Row {
  const f = line.split("|");
  if (f.length < FIELDS.length) {
    throw new SlurmOutputError(
      `sacct row has ${f.length} fields, expected ${FIELDS.length}: ${JSON.stringify(line)}`,
    );
  }
  // JobName (the 2nd field) is printed verbatim and may hold "|": count the others from the end.
  const tail = f.slice(-(FIELDS.length - 2));
  const [
    state = "",
    exitCode = "",
    elapsed = "",
    maxRss = "",
    reqMem = "",
    timeLimit = "",
    nodes = "",
    allocTres = "",
  ] = tail;
  return { id: f[0]!, state, exitCode, elapsed, maxRss, reqMem, timeLimit, nodes, allocTres };
}

/** `X:Y` → exit code and signal (`0:15`: killed by SIGTERM). */
function parseExitCode(text: string): { exitCode: number; signal: number } {
  if (text.trim() === "") return { exitCode: 0, signal: 0 };
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new SlurmOutputError(`not a sacct ExitCode: ${JSON.stringify(text)}`);
  return { exitCode: Number(m[1]), signal: Number(m[2]) };
}

/** sacct's `00:01:27` as users write it (`0:01:27`); words like UNLIMITED as printed. */
function duration(text: string): string | undefined {
  const v = text.trim();
  if (v === "") return undefined;
  const secs = parseSlurmDuration(v);
  return secs === null ? v : formatDuration(secs);
}

interface Job {
  alloc?: Row;
  batch?: Row;
  maxRssBytes: number | null;
}

/**
 * Rows of `sacct` {@link SACCT_ARGS} → one status per job id (`19`, `27_0`, `27_[1-3]`), steps
 * (`19.batch`, `19.extern`, `19.0`) merged into their job:
 * - `state`: the first word of the allocation row (`CANCELLED by 0` → CANCELLED). A job still
 *   RUNNING or PENDING is returned as such: its record is not final yet, ask again.
 * - `exitCode`/`signal`: the allocation's `X:Y`; when that is `0:0` and the batch step was
 *   killed (cancel, timeout: batch `CANCELLED 0:15`), the batch step's.
 * - `maxRss`: the largest MaxRSS over the steps (`410M`), absent when no step was sampled.
 * - `elapsed`/`timeLimit` as `H:MM:SS` or `D-HH:MM:SS`, `reqMem` as sacct prints it (`4000M`),
 *   `node` unless `None assigned`, `billing` from AllocTRES (absent for a job never allocated).
 * A job with step rows but no allocation row is left out.
 * @throws SlurmOutputError when a row does not have the format's fields.
 */
export function parseSacct(stdout: string): Map<string, FinalJobStatus> {
  const jobs = new Map<string, Job>();
  for (const raw of stdout.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const row = splitRow(line);
    const dot = row.id.indexOf(".");
    const jobId = dot < 0 ? row.id : row.id.slice(0, dot);
    const step = dot < 0 ? undefined : row.id.slice(dot + 1);
    let job = jobs.get(jobId);
    if (!job) jobs.set(jobId, (job = { maxRssBytes: null }));
    if (step === undefined) job.alloc = row;
    else if (step === "batch") job.batch = row;
    const rss = parseRss(row.maxRss);
    if (rss !== null && (job.maxRssBytes === null || rss > job.maxRssBytes)) job.maxRssBytes = rss;
  }

  const out = new Map<string, FinalJobStatus>();
  for (const [jobId, job] of jobs) {
    const alloc = job.alloc;
    if (!alloc) continue;
    let { exitCode, signal } = parseExitCode(alloc.exitCode);
    if (exitCode === 0 && signal === 0 && job.batch)
      ({ exitCode, signal } = parseExitCode(job.batch.exitCode));
    const status: FinalJobStatus = { jobId, state: parseJobState(alloc.state), exitCode, signal };
    const elapsed = duration(alloc.elapsed);
    if (elapsed) status.elapsed = elapsed;
    const timeLimit = duration(alloc.timeLimit);
    if (timeLimit) status.timeLimit = timeLimit;
    if (job.maxRssBytes !== null) status.maxRss = formatMemory(job.maxRssBytes / 1024 ** 2);
    if (alloc.reqMem.trim()) status.reqMem = alloc.reqMem.trim();
    const node = alloc.nodes.trim();
    if (node && node !== "None assigned") status.node = node;
    const billing = billingOfTres(alloc.allocTres.trim());
    if (billing !== undefined) status.billing = billing;
    out.set(jobId, status);
  }
  return out;
}
