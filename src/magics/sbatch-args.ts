/**
 * sbatch options of a `%%slurm`/`%slurm`/`#SBATCH` line, read the way sbatch reads them and
 * normalized to long form. Pure. Values are checked where that is cheap; what depends on the
 * cluster (partition names, limits, accounts) is checked in validate.ts.
 */
import { distance } from "fastest-levenshtein";
import { parseArraySpec } from "../jobs/array/array-spec";
import { parseMemory, parseTimeOption, SlurmValueError } from "../jobs/slurm/slurm-time";
import {
  KERNEL_OPTIONS,
  KERNEL_OWNED_SBATCH,
  SBATCH_OPTIONS,
  type OwnedOption,
  type SbatchOption,
} from "./registry";
import { MagicError, type ParsedOptions, type SbatchPair } from "./types";

const ALL_OPTIONS: readonly SbatchOption[] = [...SBATCH_OPTIONS, ...KERNEL_OPTIONS];
const KERNEL_LONGS = new Set(KERNEL_OPTIONS.map((o) => o.long));

/** Kernel-owned options by every spelling, long and short. */
const OWNED = new Map<string, OwnedOption>(
  KERNEL_OWNED_SBATCH.flatMap((o) => [[o.long, o] as const, ...(o.short ? [[o.short, o] as const] : [])]),
);

/** Real sbatch options a cell cannot set: told apart from typos. */
const OTHER_SBATCH = new Set(
  (
    "ntasks-per-core ntasks-per-socket nodelist exclude mem-per-gpu gpus-per-task " +
    "gpus-per-socket cpus-per-gpu tmp licenses reservation signal hold comment distribution " +
    "threads-per-core hint gpu-bind time-min deadline priority nice wckey tres-per-task propagate " +
    "get-user-env oversubscribe overcommit core-spec sockets-per-node cores-per-socket " +
    "switches clusters container spread-job use-min-nodes acctg-freq immediate no-kill quiet " +
    "verbose version help usage mincpus extra-node-info"
  )
    .split(" ")
    .map((name) => `--${name}`),
);

const MAIL_TYPES = (
  "NONE BEGIN END FAIL REQUEUE ALL INVALID_DEPEND STAGE_OUT " +
  "TIME_LIMIT TIME_LIMIT_90 TIME_LIMIT_80 TIME_LIMIT_50 ARRAY_TASKS"
).split(" ");

/** Options that are alternatives: a later one replaces an earlier one of the same group. */
function groupOf(long: string): string {
  if (long === "--no-requeue") return "--requeue";
  return long === "--mem-per-cpu" ? "--mem" : long;
}

/**
 * The candidate a mistyped word most likely meant: one it shortens or lengthens (`--cpus`,
 * `--memory`), else the nearest by edit distance (at most a third of the word, and at least 1).
 * Case and leading dashes are ignored.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.replace(/^-+/, "").toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const name = c.replace(/^-+/, "").toLowerCase();
    // A shortened or lengthened name (--cpus, --memory, --name) is closer than any typo.
    const prefix = w.length >= 3 && (name.startsWith(w) || w.startsWith(name));
    const inside = w.length >= 3 && name.includes(w);
    const score = prefix ? name.length / 1000 : inside ? 0.5 + name.length / 1000 : distance(w, name);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return bestScore <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}

function unknownOption(spelling: string, source: string): MagicError {
  const name = spelling.split("=")[0]!;
  if (OTHER_SBATCH.has(name)) {
    return new MagicError(
      `${name} is an sbatch option that ${source} does not take; %%slurm? lists the options a cell may set`,
    );
  }
  const shorts = ALL_OPTIONS.filter((o) => o.short).map((o) => o.short!);
  const guess = name.startsWith("--")
    ? closest(
        name,
        ALL_OPTIONS.map((o) => o.long),
      )
    : shorts.find((s) => s.toLowerCase() === name.toLowerCase());
  const named =
    guess && !guess.startsWith("--")
      ? `${guess} (${ALL_OPTIONS.find((o) => o.short === guess)!.long})`
      : guess;
  const hint = named ? ` — did you mean ${named}?` : "";
  return new MagicError(`unknown option ${name} in ${source}${hint} (%%slurm? lists the options)`);
}

function ownedOption(spelling: string, owned: OwnedOption): MagicError {
  const said = owned.long === spelling ? spelling : `${spelling} (${owned.long})`;
  return new MagicError(`${said} is set by the kernel: ${owned.why}`);
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** A value Slurm would not take is a magic the kernel refuses (nothing is submitted). */
function asMagicError(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw err instanceof SlurmValueError ? new MagicError(err.message) : err;
  }
}

/** Checks one option's value; throws a MagicError that says what a good value looks like. */
function checkValue(opt: SbatchOption, value: string): void {
  const o = opt.long;
  const ctl = [...value].find((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (ctl) {
    const code = ctl.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    const what = ctl === "\n" || ctl === "\r" ? "a line break" : `a control character (U+${code})`;
    throw new MagicError(`${o} value contains ${what}: sbatch options must be plain text on one line`);
  }
  const bad = (what: string, use: string): MagicError =>
    new MagicError(`${o} '${value}' is not ${what}: use ${use}`);
  switch (o) {
    case "--time":
      asMagicError(() => parseTimeOption(value, o));
      return;
    case "--mem":
    case "--mem-per-cpu":
      asMagicError(() => parseMemory(value, o));
      return;
    case "--array":
      asMagicError(() => parseArraySpec(value));
      return;
    case "--dependency":
      if (!/^[A-Za-z_]+(:[\w+.]+)*([,?][A-Za-z_]+(:[\w+.]+)*)*$/.test(value))
        throw bad(
          "a dependency",
          "sbatch's TYPE:JOBID[:JOBID], e.g. afterok:4519 or afterany:4519,afterok:4520",
        );
      return;
    case "--after":
      if (!value.split(",").every((v) => /^\d+(_\d+)?$/.test(v)))
        throw bad(
          "a cell or job",
          "a cell's execution count or a job id, e.g. --after 12 or --after 4519,4520",
        );
      return;
    case "--cpus-per-task":
    case "--ntasks-per-node":
    case "--ntasks":
      if (!/^[1-9]\d*$/.test(value))
        throw bad(
          o === "--cpus-per-task" ? "a number of CPUs" : "a number of tasks",
          `a whole number from 1, e.g. ${opt.short ?? o} 4`,
        );
      return;
    case "--nodes":
      if (!/^[1-9]\d*(-[1-9]\d*)?$/.test(value)) throw bad("a node count", "N or MIN-MAX, e.g. -N 1");
      return;
    case "--gres":
      for (const item of value.split(",")) {
        // NAME[:TYPE][:COUNT]; a type starts with a letter, so gpu:1:2 and gpu:x:y are refused.
        const m = /^([A-Za-z][\w.-]*)(?::[A-Za-z][\w.-]*)?(?::(\d+))?$/.exec(item);
        if (m && !/^0+$/.test(m[2] ?? "1")) continue;
        if (/^gpu\b/i.test(item)) throw bad("a GPU request", "gpu:N or gpu:TYPE:N, e.g. gpu:1 or gpu:a100:1");
        throw bad("a GRES request", "NAME[:TYPE][:N], e.g. gpu:1");
      }
      return;
    case "--gpus":
    case "--gpus-per-node":
      for (const item of value.split(",")) {
        if (!/^([A-Za-z][\w.-]*:)?[1-9]\d*$/.test(item))
          throw bad("a GPU count", "N or TYPE:N, e.g. 1 or a100:1");
      }
      return;
    case "--mail-type":
      for (const item of value.split(",")) {
        if (MAIL_TYPES.includes(item.toUpperCase())) continue;
        const guess = closest(item.toUpperCase(), MAIL_TYPES);
        throw new MagicError(
          `${o} '${item}' is not a mail type${guess ? ` — did you mean ${guess}? Use` : ": use"} one or more of ${MAIL_TYPES.join(", ")}, comma-separated`,
        );
      }
      return;
    case "--job-name":
      if (value.includes("|"))
        throw new MagicError(
          `${o} '${value}' contains '|', which squeue and sacct print as their separator: use another character`,
        );
      return;
    case "--partition":
      if (!value.split(",").every((p) => NAME.test(p)))
        throw bad("a partition name", "a name like acpu, or several separated by commas");
      return;
    case "--env":
      // A conda environment's name or path, as `conda activate` takes it (no spaces, no shell words).
      if (!/^[A-Za-z0-9_.+\-/@]+$/.test(value))
        throw bad("a conda environment", "a name like alpine-kernel or a path like /projects/me/envs/x");
      return;
    case "--account":
    case "--qos":
    case "--profile":
      if (!NAME.test(value)) {
        const what = o === "--account" ? "an account" : o === "--qos" ? "a QoS" : "a profile";
        throw bad(`${what} name`, "letters, digits, '.', '_' and '-' only");
      }
      return;
    default:
      return;
  }
}

/** Kernel-owned options a pasted job script may carry, left out with a note rather than refused. */
const IGNORED_IN_JOB_SCRIPTS = new Set(["--output", "-o", "--error", "-e", "--open-mode", "--parsable"]);

/**
 * An option of a `%%bash` cell's `#SBATCH` line that is not in the kernel's table: sbatch's own
 * (kept as written, value unchecked: sbatch checks it) or one of the kernel's that it leaves out.
 */
function jobScriptOption(
  spelled: string,
  value: string | undefined,
  next: string | undefined,
): { pair?: SbatchPair; tookNext: boolean } | undefined {
  const takesNext = value === undefined && next !== undefined && !next.startsWith("-");
  if (IGNORED_IN_JOB_SCRIPTS.has(spelled)) return { tookNext: takesNext && spelled !== "--parsable" };
  if (!OTHER_SBATCH.has(spelled)) return undefined;
  const v = value ?? (takesNext ? next : undefined);
  if (v !== undefined && [...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    throw new MagicError(`${spelled} value contains a control character: sbatch options must be plain text`);
  return { pair: v === undefined ? [spelled] : [spelled, v], tookNext: takesNext };
}

/**
 * Reads the options of one magic or `#SBATCH` line (already split into words by tokenize):
 * `--opt value`, `--opt=value`, `-p value`, `-pvalue`, `-p=value`, `-t1:00:00`. Returns them in
 * long form, in order, a repeated option keeping its last value; `--detach` and `--profile NAME`
 * (not in `#SBATCH` lines: sbatch does not know them) set their own fields.
 * @param source names the line in messages: `%%slurm`, `%slurm` or `#SBATCH`.
 * @param opts.jobScript the line is in a `%%bash` cell, a job script as users write them: sbatch's
 *   other options pass through unchecked, and `--output`/`--error` (the kernel's: the output
 *   streams into the notebook) are left out, named in `ignored`, instead of refused.
 * @throws MagicError for an unknown or kernel-owned option, a missing value, a value given to a
 *   flag, a word that is not an option, or a value the option cannot take.
 */
export function parseSlurmOptions(
  tokens: readonly string[],
  source = "%%slurm",
  opts: { jobScript?: boolean } = {},
): ParsedOptions {
  const out: ParsedOptions = { sbatch: [], detach: false };
  const pairs: SbatchPair[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    let opt: SbatchOption | undefined;
    let value: string | undefined;
    let spelled: string;
    if (token.startsWith("--") && token.length > 2) {
      const eq = token.indexOf("=");
      spelled = eq < 0 ? token : token.slice(0, eq);
      if (eq >= 0) value = token.slice(eq + 1);
      opt = ALL_OPTIONS.find((o) => o.long === spelled);
    } else if (/^-[A-Za-z]/.test(token)) {
      const asLong = `-${token.split("=")[0]}`;
      if (token.length > 3 && ALL_OPTIONS.some((o) => o.long === asLong)) {
        throw new MagicError(`${token.split("=")[0]} in ${source}: long options take two dashes, ${asLong}`);
      }
      spelled = token.slice(0, 2);
      opt = ALL_OPTIONS.find((o) => o.short === spelled);
      // -pacpu, -t1:00:00 (and -p=acpu, which sbatch would read as "=acpu")
      if (token.length > 2) value = token.slice(2).replace(/^=/, "");
    } else {
      throw new MagicError(`unexpected '${token}' in ${source}: options only`);
    }
    if (!opt && opts.jobScript) {
      const kept = jobScriptOption(spelled, value, tokens[i + 1]);
      if (kept) {
        if (kept.tookNext) i++;
        if (kept.pair) pairs.push(kept.pair);
        else out.ignored = [...(out.ignored ?? []), spelled];
        continue;
      }
    }
    if (!opt) {
      const owned = OWNED.get(spelled);
      if (owned) throw ownedOption(spelled, owned);
      throw unknownOption(spelled, source);
    }
    if (KERNEL_LONGS.has(opt.long) && source === "#SBATCH") {
      throw new MagicError(`${opt.long} is a %%slurm option, not sbatch's: write it on a %%slurm first line`);
    }
    if (!opt.takesValue) {
      if (value !== undefined)
        throw new MagicError(`${opt.long} takes no value in ${source}: write ${opt.long} alone`);
    } else if (value === undefined) {
      const next = tokens[i + 1];
      if (next !== undefined && !(next.startsWith("-") && next.length > 1)) value = tokens[++i];
    }
    if (opt.takesValue && !value) throw new MagicError(`${spelled} needs a value in ${source}: ${opt.help}`);
    if (value !== undefined) checkValue(opt, value);

    if (opt.long === "--detach") out.detach = true;
    else if (opt.long === "--profile") out.profile = value!;
    else if (opt.long === "--env") out.env = value!;
    else if (opt.long === "--after") out.after = [...(out.after ?? []), ...value!.split(",")];
    else pairs.push(value === undefined ? [opt.long] : [opt.long, value]);
  }
  const longs = new Set(pairs.map(([l]) => l));
  if (out.after && longs.has("--dependency"))
    throw new MagicError(
      `--after and --dependency together in ${source}: --after 12 is --dependency=afterok:<cell 12's job>; keep one`,
    );
  if (longs.has("--mem") && longs.has("--mem-per-cpu")) {
    throw new MagicError(
      `--mem and --mem-per-cpu together in ${source}: sbatch takes only one of them; keep one`,
    );
  }
  out.sbatch = mergeSbatch([], pairs);
  return out;
}

/**
 * `over` applied on top of `base`: an option already in `base` takes its new value in place
 * (`--mem-per-cpu` replaces `--mem` and the other way round: sbatch takes only one), others are
 * appended in order.
 */
export function mergeSbatch(base: readonly SbatchPair[], over: readonly SbatchPair[]): SbatchPair[] {
  const out = [...base];
  for (const pair of over) {
    const at = out.findIndex(([l]) => groupOf(l) === groupOf(pair[0]));
    if (at < 0) out.push(pair);
    else out[at] = pair;
  }
  return out;
}

/** Options of two lines merged: `over`'s sbatch options on top of `base`'s, either one's --detach, `over`'s profile and env first. */
export function mergeOptions(base: ParsedOptions, over: ParsedOptions): ParsedOptions {
  const out: ParsedOptions = {
    sbatch: mergeSbatch(base.sbatch, over.sbatch),
    detach: base.detach || over.detach,
  };
  const profile = over.profile ?? base.profile;
  if (profile !== undefined) out.profile = profile;
  const env = over.env ?? base.env;
  if (env !== undefined) out.env = env;
  const after = [...(base.after ?? []), ...(over.after ?? [])];
  if (after.length) out.after = after;
  const ignored = [...(base.ignored ?? []), ...(over.ignored ?? [])];
  if (ignored.length) out.ignored = ignored;
  return out;
}
