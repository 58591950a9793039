/**
 * Renders the batch script of one cell. Pure: same input, same text (checked against golden files).
 * The same script is submitted with sbatch by the slurm backend and run with bash by the local one.
 */
import { InputError } from "../errors";
import { shellQuote } from "../cluster/transport";
import { describeUnsafeCharacter, findUnsafeCharacter } from "./script-characters";

/** One sbatch option in long form: ["--partition", "acpu"] or ["--exclusive"]. */
export type SbatchPair = readonly [long: string, value?: string];

export interface EnvironmentSetup {
  modules: readonly string[];
  conda_env?: string | undefined;
  /** Trusted lines from the user's own configuration. */
  setup: readonly string[];
  python: string;
}

export interface JobScriptInput {
  jobName: string;
  /** `#SBATCH` options in long form, e.g. ["--partition", "acpu"] or ["--exclusive"]. */
  sbatch: readonly SbatchPair[];
  stdoutPath: string;
  stderrPath: string;
  workDir: string;
  environment: EnvironmentSetup;
  runnerPath: string;
  runnerArgs: readonly string[];
  /** A comment naming what this job is, for people reading squeue or the script. */
  description: string;
  /** The umask everything in the job runs with, set before anything else ("077": private to the user). */
  umask: string;
}

/**
 * Marks in a path that stand for the running task: an array task's index (`%a` in `#SBATCH`
 * lines, `${SLURM_ARRAY_TASK_ID}` in commands) and an srun task's rank (`${SLURM_PROCID}`). A NUL
 * can be in no path, so the marks cannot clash with one.
 */
export const TASK_INDEX = "\u0000task\u0000";
export const RANK_INDEX = "\u0000rank\u0000";
const MARKS: Record<string, { sbatch?: string; shell: string }> = {
  [TASK_INDEX]: { sbatch: "%a", shell: '"${SLURM_ARRAY_TASK_ID}"' },
  [RANK_INDEX]: { shell: '"${SLURM_PROCID}"' },
};
// eslint-disable-next-line no-control-regex -- the marks are made of NUL, which no path holds
const MARK_RE = /(\u0000(?:task|rank)\u0000)/;

/** One shell word: quoted, with the task marks expanded by the shell that runs it. */
export function shellWord(word: string, what = "a path"): string {
  if (!MARK_RE.test(word)) return shellQuote(shellValue(what, word));
  return word
    .split(MARK_RE)
    .filter((part) => part !== "")
    .map((part) => MARKS[part]?.shell ?? shellQuote(shellValue(what, part)))
    .join("");
}

/** A path in an `#SBATCH` line: the task mark as sbatch's own `%a`. */
function sbatchPath(path: string): string {
  if (path.includes(RANK_INDEX)) throw new InputError("BAD_SBATCH_OPTION", "a rank in an #SBATCH path");
  return path.split(TASK_INDEX).join(MARKS[TASK_INDEX]!.sbatch!);
}

/** Exit code of a job whose environment setup (module load / conda activate / cd) failed. */
export const SETUP_FAILED_EXIT = 97;
export const SETUP_FAILED_MARKER = "alpine-kernel: environment setup failed:";

function sbatchLine([flag, value]: SbatchPair): string {
  if (!/^--[a-z][a-z0-9-]*$/.test(flag))
    throw new InputError("BAD_SBATCH_OPTION", `not an sbatch long option: ${JSON.stringify(flag)}`);
  if (value === undefined) return `#SBATCH ${flag}`;
  if (/[\n\r]/.test(value)) throw new InputError("BAD_SBATCH_OPTION", `${flag} value must be on one line`);
  const bad = findUnsafeCharacter(value);
  if (bad)
    throw new InputError("BAD_SBATCH_OPTION", `${flag} value holds ${describeUnsafeCharacter(value, bad)}`);
  // sbatch tokenizes #SBATCH lines itself and honours double quotes.
  const v = /^[A-Za-z0-9_.,:+\-/=@%[\]*]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, "\\$1")}"`;
  return `#SBATCH ${flag}=${v}`;
}

export function guarded(command: string, what: string): string {
  return `${command} || { echo ${shellQuote(`${SETUP_FAILED_MARKER} ${what}`)} >&2; exit ${SETUP_FAILED_EXIT}; }`;
}

/** Shell lines that prepare the cells' environment: module loads, conda activate, the user's own lines. */
export function renderEnvironmentSetup(env: EnvironmentSetup): string[] {
  const lines = env.modules.map((m) => guarded(`module load ${shellQuote(m)}`, `module load ${m}`));
  if (env.conda_env)
    lines.push(guarded(`conda activate ${shellQuote(env.conda_env)}`, `conda activate ${env.conda_env}`));
  return [...lines, ...env.setup];
}

/**
 * A value for a shell line: quoted, it can hold anything bash can — but not a NUL (bash drops it,
 * and sbatch reads the script only up to it) nor a carriage return (sbatch refuses a script with
 * \r\n in it). Found by the job-script fuzzer.
 */
function shellValue(what: string, value: string): string {
  const bad = value.includes("\0")
    ? "a NUL character"
    : value.includes("\r")
      ? "a carriage return"
      : undefined;
  if (bad) throw new InputError("BAD_JOB_VALUE", `${what} ${JSON.stringify(value)} contains ${bad}`);
  return value;
}

/** What every job script of a cell starts with: the shebang, its `#SBATCH` lines, a comment, the umask. */
export type ScriptHeader = Pick<
  JobScriptInput,
  "jobName" | "sbatch" | "stdoutPath" | "stderrPath" | "description" | "umask"
>;

export function renderHeader(input: ScriptHeader, what: string): string[] {
  if (!/^0?[0-7]{3}$/.test(input.umask))
    throw new InputError("BAD_UMASK", `umask ${JSON.stringify(input.umask)} is not three octal digits`);
  return [
    "#!/bin/bash -l",
    sbatchLine(["--job-name", input.jobName]),
    sbatchLine(["--output", sbatchPath(input.stdoutPath)]),
    sbatchLine(["--error", sbatchPath(input.stderrPath)]),
    ...input.sbatch.map(sbatchLine),
    `# ${input.description.replace(/\p{Cc}/gu, " ")}`, // one line, no NUL
    `# Generated by alpine-kernel: ${what}`,
    `umask ${input.umask}`,
  ];
}

/** `cd` into the cell's working directory, or the job fails as a setup failure. */
export function workDirLine(workDir: string): string {
  const dir = shellValue("the working directory", workDir);
  return guarded(`cd ${shellQuote(dir)}`, `cd ${dir}`);
}

/** `python -u RUNNER ARGS` with the task marks expanded by the shell. */
export function runnerCommand(python: string, runnerPath: string, args: readonly string[]): string {
  const words = [runnerPath, ...args].map((a) => shellWord(a, "a runner argument"));
  return `${shellQuote(shellValue("environment.python", python))} -u ${words.join(" ")}`;
}

export function renderJobScript(input: JobScriptInput): string {
  const env = input.environment;
  const lines = renderHeader(input, "the cell's code is in the --code file below.");
  lines.push(...renderEnvironmentSetup(env));
  lines.push(workDirLine(input.workDir));
  lines.push(`exec ${runnerCommand(env.python, input.runnerPath, input.runnerArgs)}`);
  return lines.join("\n") + "\n";
}
