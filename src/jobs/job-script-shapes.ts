/**
 * The two other shapes of a cell's job script (the Python one is job-script.ts's). Pure, checked
 * against golden files like it.
 *
 * - `%%bash`: the cell is the job script. It is sourced by a job script that writes the start and
 *   end of the events-file contract (docs/cell-runner.md) itself, with bash alone: a `start` event,
 *   then at exit an `error` event when the script failed (exit code) or was interrupted, then `end`.
 *   The kernel's environment (modules, conda) is not set up: the script does its own.
 * - `%%srun`: the environment is set up as for a Python cell, then `srun` runs the cell runner on
 *   every task of the allocation. Rank 0 writes the cell's own files (and the notebook's
 *   namespace); the other ranks write files of their own, their output redirected there.
 */
import { shellQuote } from "../cluster/transport";
import {
  renderEnvironmentSetup,
  renderHeader,
  runnerCommand,
  shellWord,
  workDirLine,
  type EnvironmentSetup,
  type ScriptHeader,
} from "./job-script";

/** Exit code the bash job script gives an interrupted script (128 + SIGINT), as bash does. */
export const INTERRUPTED_EXIT = 130;
/** And a terminated one (128 + SIGTERM): scancel, the time limit, preemption. */
export const TERMINATED_EXIT = 143;

export interface BashJobScriptInput extends ScriptHeader {
  workDir: string;
  /** The cell's script, sourced (so `module`, from the login shell, is there for it). */
  userScriptPath: string;
  eventsPath: string;
}

/**
 * JSON lines written with printf: every value put in them is a number or a name from Slurm or the
 * kernel (the node's name is cut to safe characters).
 */
const EVENT_FUNCTIONS = [
  // EPOCHREALTIME has the locale's decimal separator: JSON wants a point.
  "ak_now() { local t=${EPOCHREALTIME:-$(date +%s)}; printf '%s' \"${t/,/.}\"; }",
  'ak_event() { printf \'%s\\n\' "$1" >>"$AK_EVENTS"; }',
  "ak_finish() {",
  "  local code=$1",
  "  trap - EXIT INT TERM",
  // Slurm ended it (scancel, time limit, preemption): no end marker, so its end state tells.
  '  if [ -n "${AK_TERMINATED:-}" ]; then exit "$code"; fi',
  '  if [ -n "${AK_INTERRUPTED:-}" ]; then',
  '    ak_event \'{"type":"error","ename":"KeyboardInterrupt","evalue":"the script was interrupted","traceback":["KeyboardInterrupt: the script was interrupted"]}\'',
  '  elif [ "$code" != 0 ]; then',
  '    ak_event "{\\"type\\":\\"error\\",\\"ename\\":\\"CellScriptFailed\\",\\"evalue\\":\\"the cell\'s script exited with code $code\\",\\"traceback\\":[]}"',
  "  fi",
  '  ak_event "{\\"type\\":\\"end\\",\\"status\\":\\"$([ "$code" = 0 ] && echo ok || echo error)\\",\\"time\\":$(ak_now),\\"exit_code\\":$code}"',
  '  exit "$code"',
  "}",
];

const START_EVENT =
  "ak_host=${SLURMD_NODENAME:-$(hostname -s)}; ak_host=${ak_host//[^A-Za-z0-9._-]/_}; ak_job=${SLURM_JOB_ID:-}; ak_job=${ak_job//[^0-9_]/}\n" +
  'ak_event "{\\"type\\":\\"start\\",\\"time\\":$(ak_now),\\"host\\":\\"$ak_host\\",\\"pid\\":$$,\\"job_id\\":\\"$ak_job\\",\\"python\\":\\"\\",\\"ipython\\":false,\\"dill\\":false,\\"shell\\":\\"bash\\"}"';

export function renderBashJobScript(input: BashJobScriptInput): string {
  const lines = renderHeader(input, "the cell's own script is the file sourced at the end.");
  // The directory first, before any event: a job that cannot get there is diagnosed from its stderr.
  lines.push(workDirLine(input.workDir));
  lines.push(`AK_EVENTS=${shellWord(input.eventsPath)}`);
  lines.push(...EVENT_FUNCTIONS, START_EVENT);
  // A handler, not an ignore: the script's own programs still get SIGINT (ignored signals are inherited).
  lines.push(`trap 'AK_INTERRUPTED=1; exit ${INTERRUPTED_EXIT}' INT`);
  lines.push(`trap 'AK_TERMINATED=1; exit ${TERMINATED_EXIT}' TERM`);
  lines.push("trap 'ak_finish $?' EXIT");
  lines.push(`. ${shellWord(input.userScriptPath)}`);
  return lines.join("\n") + "\n";
}

export interface SrunJobScriptInput extends ScriptHeader {
  workDir: string;
  environment: EnvironmentSetup;
  runnerPath: string;
  /** Rank 0's runner arguments (the cell's own files, the notebook's namespace). */
  rank0Args: readonly string[];
  /** The other ranks' (paths with RANK_INDEX), and where their stdout/stderr go. */
  rankArgs: readonly string[];
  rankStdout: string;
  rankStderr: string;
  /** Where the job writes its number of tasks. */
  sizePath: string;
}

export function renderSrunJobScript(input: SrunJobScriptInput): string {
  const env = input.environment;
  const lines = renderHeader(input, "srun runs the cell runner below on every task.");
  lines.push(...renderEnvironmentSetup(env));
  lines.push(workDirLine(input.workDir));
  lines.push(`printf '%s\\n' "\${SLURM_NTASKS:-1}" >${shellWord(input.sizePath)}`);
  const rank0 = `exec ${runnerCommand(env.python, input.runnerPath, input.rank0Args)}`;
  const others =
    `exec ${runnerCommand(env.python, input.runnerPath, input.rankArgs)}` +
    ` >${shellWord(input.rankStdout)} 2>${shellWord(input.rankStderr)}`;
  const perTask = `if [ "$SLURM_PROCID" = 0 ]; then ${rank0}; else ${others}; fi`;
  // srun (22.05+) no longer takes --cpus-per-task from the batch job's environment: pass it on.
  lines.push(
    `exec srun --input=none \${SLURM_CPUS_PER_TASK:+--cpus-per-task=$SLURM_CPUS_PER_TASK} bash -c ${shellQuote(perTask)}`,
  );
  return lines.join("\n") + "\n";
}
