/**
 * Fuzzing the job script with the programs that read it (issue 10, "fuzzers in the suite": no
 * value may reach a shell unquoted).
 * - bash: every value that lands on a shell line — the working directory a frontend sends, the
 *   configured python, modules and conda env, the runner's path and arguments — arrives as exactly
 *   one argument of exactly the command it belongs to, and nothing else runs (a canary command
 *   hidden in the values never fires). Or the script is refused whole, with an InputError.
 * - sbatch: a cell's own #SBATCH values (a job name full of quotes and shell syntax) arrive in
 *   Slurm as written, which also checks the model of sbatch's line reader the unit fuzzers use.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { InputError } from "../../../src/errors";
import { renderJobScript, type JobScriptInput } from "../../../src/jobs/job-script";
import { base } from "../../fixtures/job-scripts/cases";
import { FUZZ, FUZZ_SLOW } from "../../helpers/fuzz";
import { requireCluster } from "../../helpers/slurm";
import { sbatchArguments } from "../../unit/fuzz/sbatch-line";

jest.setTimeout(120_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-fuzz-script-"));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CANARY = "ak-canary";
/** Text that a shell would act on if it were not quoted: expansions, separators, redirections, quotes. */
const nasty = fc.constantFrom(
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `;touch ${CANARY};`,
  `&& touch ${CANARY}`,
  `| touch ${CANARY}`,
  `> ${CANARY}`,
  "'",
  '"',
  "\\",
  "$HOME",
  "${X}",
  "*",
  "?",
  "[a]",
  "~",
  "#",
  "!",
  "\n",
  "\r",
  "\t",
  " ",
  "\u0000",
  "\u2028",
  "é",
  "😀",
  "-",
  "--",
  "=",
);
const odd = fc.array(fc.oneof(nasty, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((a) => a.join(""));
const shellWord = fc.stringMatching(/^[A-Za-z0-9_.+\-/@:=]{1,12}$/); // what config.ts lets through

const PRELUDE = [
  // Each command the script runs appends its argument count, then its name and arguments, each
  // ended by a NUL (the one character no argument can hold).
  'rec() { printf "%d\\0" "$#" >> "$AK_RECORD"; printf "%s\\0" "$@" >> "$AK_RECORD"; }',
  'umask() { rec umask "$@"; }',
  'module() { rec module "$@"; }',
  'conda() { rec conda "$@"; }',
  'cd() { rec cd "$@"; }',
  'exec() { rec exec "$@"; }',
].join("\n");

function runWithBash(script: string): string[][] {
  const record = join(dir, "record");
  rmSync(record, { force: true });
  const file = join(dir, "job.sh");
  writeFileSync(file, `${PRELUDE}\n${script}`);
  const r = spawnSync("bash", ["--norc", "--noprofile", file], {
    cwd: dir,
    env: { PATH: process.env.PATH, AK_RECORD: record, X: "expanded", HOME: "/nonexistent" },
    encoding: "utf8",
    timeout: 10_000,
  });
  if (r.status !== 0) throw new Error(`bash failed (${r.status}): ${r.stderr}`);
  if (!existsSync(record)) return [];
  const fields = readFileSync(record, "utf8").split("\0").slice(0, -1);
  const calls: string[][] = [];
  for (let i = 0; i < fields.length;) {
    const n = Number(fields[i]);
    calls.push(fields.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return calls;
}

test("every value on a shell line arrives as one argument of its own command; nothing else runs", () => {
  let ran = 0;
  fc.assert(
    fc.property(
      odd,
      odd,
      fc.array(odd, { minLength: 1, maxLength: 4 }),
      fc.array(shellWord, { maxLength: 2 }),
      fc.option(shellWord, { nil: undefined }),
      odd,
      (workDir, python, args, modules, conda, description) => {
        const input: JobScriptInput = {
          ...base,
          workDir,
          runnerPath: join(dir, "runner", python || "r.py"),
          runnerArgs: args,
          environment: { modules, conda_env: conda, setup: [], python: python || "python3" },
          description,
        };
        let script: string;
        try {
          script = renderJobScript(input);
        } catch (err) {
          if (err instanceof InputError) return; // refused whole, with a message
          throw err;
        }
        const calls = runWithBash(script);
        ran++;
        expect(calls).toEqual([
          ["umask", "077"],
          ...modules.map((m) => ["module", "load", m]),
          ...(conda ? [["conda", "activate", conda]] : []),
          ["cd", workDir],
          ["exec", python || "python3", "-u", input.runnerPath, ...args],
        ]);
        expect(existsSync(join(dir, CANARY))).toBe(false);
      },
    ),
    FUZZ,
  );
  expect(ran).toBeGreaterThan(FUZZ.numRuns! / 4); // most scripts were run, not refused
});

test("a cell's #SBATCH values reach Slurm as written (and as the unit fuzzers' model reads them)", () => {
  const cluster = requireCluster();
  const jobs: string[] = [];
  const name = fc
    .array(fc.oneof(nasty, fc.string({ minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 6 })
    .map((a) => a.join(""));
  try {
    fc.assert(
      fc.property(name, (jobName) => {
        let script: string;
        try {
          script = renderJobScript({
            ...base,
            stdoutPath: "/dev/null",
            stderrPath: "/dev/null",
            sbatch: [
              ["--job-name", jobName],
              ["--partition", "acpu"],
              ["--account", cluster.account],
              ["--time", "1"],
              ["--hold"],
            ],
          });
        } catch (err) {
          if (err instanceof InputError) return;
          throw err;
        }
        // The cell's line comes after the kernel's --job-name, --output and --error (a later one wins).
        expect(sbatchArguments(script.split("\n")[4]!)).toEqual([`--job-name=${jobName}`]);
        const file = join(dir, "sbatch.sh");
        writeFileSync(file, script);
        chmodSync(file, 0o644);
        const id = execFileSync("runuser", ["-u", cluster.user, "--", "sbatch", "--parsable", file], {
          encoding: "utf8",
          cwd: dir,
          timeout: 30_000,
        }).trim();
        jobs.push(id);
        const shown = execFileSync("squeue", ["-h", "-j", id, "-o", "%j"], { encoding: "utf8" }).replace(
          /\n$/,
          "",
        );
        spawnSync("scancel", [id], { stdio: "ignore" }); // at once: a held job in the queue is noise to others
        expect(shown).toBe(jobName);
      }),
      FUZZ_SLOW,
    );
  } finally {
    // Only the jobs this test submitted, by their ids.
    if (jobs.length) spawnSync("scancel", jobs, { stdio: "ignore" });
  }
});
