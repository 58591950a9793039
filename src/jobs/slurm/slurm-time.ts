/**
 * Times and sizes as Slurm prints them and as users write them in sbatch options. Pure.
 *
 * Output spellings (squeue `%M`/`%l`, sacct `Elapsed`/`Timelimit`, scontrol `MaxTime`) are read
 * leniently; option values (`--time`, `--mem`) are checked as strictly as sbatch checks them, or
 * more strictly where sbatch silently does something surprising (`--time=1:70:00` is 2:10:00 to
 * sbatch, and almost certainly a typo).
 */
import { ClusterError, InputError } from "../../errors";

/** A Slurm command printed something its parser cannot read (a field count, a number, a size). */
export class SlurmOutputError extends ClusterError {
  constructor(message: string) {
    super("BAD_SLURM_OUTPUT", message);
  }
}

/** A value a person wrote for a Slurm option (`--time`, `--mem`) that Slurm would not take. */
export class SlurmValueError extends InputError {
  constructor(message: string) {
    super("BAD_SLURM_VALUE", message);
  }
}

/** Words Slurm prints where a duration has no value. */
const NO_DURATION = new Set([
  "",
  "UNLIMITED",
  "INFINITE",
  "INVALID",
  "N/A",
  "NONE",
  "PARTITION_LIMIT",
  "NOT_SET",
  "UNKNOWN",
]);

/** `[D-]H:MM:SS`, `M:SS`, with optional `.mmm` (sacct's CPU times). Days need hours. */
const OUTPUT_DURATION = /^(?:(\d+)-(\d+):|(\d+):)?(\d+):(\d+)(?:\.\d+)?$/;

/**
 * Seconds of a duration printed by squeue/sacct/scontrol/sinfo: `M:SS`, `H:MM:SS`, `D-HH:MM:SS`,
 * `HH:MM:SS.mmm`. `null` for `UNLIMITED`, `INVALID`, `N/A`, `Partition_Limit`, `NONE` and empty.
 * @throws SlurmOutputError for anything else.
 */
export function parseSlurmDuration(s: string): number | null {
  const text = s.trim();
  if (NO_DURATION.has(text.toUpperCase())) return null;
  const m = OUTPUT_DURATION.exec(text);
  if (!m) throw new SlurmOutputError(`not a Slurm duration: ${JSON.stringify(s)}`);
  const days = Number(m[1] ?? 0);
  const hours = Number(m[2] ?? m[3] ?? 0);
  return ((days * 24 + hours) * 60 + Number(m[4])) * 60 + Number(m[5]);
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

/**
 * A duration as users write it: `H:MM:SS` under a day (`0:01:30`, `12:00:00`), `D-HH:MM:SS` from a
 * day on (`1-00:00:00`). Fractions are dropped; negative durations print as `0:00:00`.
 */
export function formatDuration(seconds: number): string {
  let rest = Math.max(0, Math.floor(seconds));
  const s = rest % 60;
  rest = (rest - s) / 60;
  const m = rest % 60;
  rest = (rest - m) / 60;
  const h = rest % 24;
  const d = (rest - h) / 24;
  return d > 0 ? `${d}-${pad2(h)}:${pad2(m)}:${pad2(s)}` : `${rest}:${pad2(m)}:${pad2(s)}`;
}

/** sbatch `--time` forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const TIME_FORMS: readonly RegExp[] = [
  /^(?<m>\d+)$/,
  /^(?<m>\d+):(?<s>\d+)$/,
  /^(?<h>\d+):(?<m>\d+):(?<s>\d+)$/,
  /^(?<d>\d+)-(?<h>\d+)$/,
  /^(?<d>\d+)-(?<h>\d+):(?<m>\d+)$/,
  /^(?<d>\d+)-(?<h>\d+):(?<m>\d+):(?<s>\d+)$/,
];

/**
 * Seconds of an sbatch `--time` value; `null` for no limit (`UNLIMITED`, `infinite`, and `0`,
 * which sbatch reads as no limit). A field after the first must be in range (minutes and
 * seconds below 60, hours below 24 after a day count): sbatch would carry `1:70:00` over to
 * 2:10:00, which is rarely what was meant.
 * @param option the option's spelling, for the message.
 * @throws SlurmValueError naming the value and the forms that work.
 */
export function parseTimeOption(value: string, option = "--time"): number | null {
  const text = value.trim();
  if (/^(unlimited|infinite)$/i.test(text)) return null;
  for (const form of TIME_FORMS) {
    const g = form.exec(text)?.groups;
    if (!g) continue;
    const d = Number(g.d ?? 0);
    const h = Number(g.h ?? 0);
    const m = Number(g.m ?? 0);
    const s = Number(g.s ?? 0);
    const leading = g.d !== undefined ? "d" : g.h !== undefined ? "h" : "m";
    const inRange = s < 60 && (leading === "m" || m < 60) && (leading !== "d" || h < 24);
    if (!inRange) break;
    const total = ((d * 24 + h) * 60 + m) * 60 + s;
    return total === 0 ? null : total;
  }
  throw new SlurmValueError(`${option} '${value}' is not a Slurm time: use MM, HH:MM:SS or D-HH:MM:SS`);
}

const MB_PER_UNIT: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/**
 * Megabytes of an sbatch `--mem`/`--mem-per-cpu` value: a whole number with an optional unit K, M,
 * G or T (any case, optionally followed by B as sbatch allows), megabytes when there is none.
 * `0` is valid: sbatch reads `--mem=0` as all the memory of the node.
 * @throws SlurmValueError naming the value; sbatch refuses fractions like `1.5G` too.
 */
export function parseMemory(value: string, option = "--mem"): number {
  const m = /^(\d+)(?:([KMGT])B?)?$/i.exec(value.trim());
  if (!m) {
    throw new SlurmValueError(
      `${option} '${value}' is not a memory size: use a whole number with K, M, G or T, e.g. 8G or 1536M`,
    );
  }
  return Number(m[1]) * MB_PER_UNIT[(m[2] ?? "M").toUpperCase()]!;
}

/**
 * A memory size for people: `8G` (8192), `1.5G` (1536), `412M`, `2T`. Gigabytes are shown when
 * exact to one decimal or when large (16000 MB → `15.6G`); `4000M` stays `4000M` rather than
 * becoming an approximate `3.9G`.
 */
export function formatMemory(mb: number): string {
  if (mb > 0 && mb < 1) return `${Math.round(mb * 1024)}K`;
  for (const [unit, size] of [
    ["T", 1024 * 1024],
    ["G", 1024],
  ] as const) {
    const tenths = (mb / size) * 10;
    if (tenths < 10) continue;
    const exact = Math.abs(tenths - Math.round(tenths)) < 1e-6;
    if (exact || tenths >= 100) return `${Math.round(tenths) / 10}${unit}`;
  }
  return `${Math.round(mb)}M`;
}

const BYTES_PER_UNIT: Record<string, number> = {
  "": 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

/**
 * Bytes of a sacct `MaxRSS` (`133268K`, `1.20G`, `0`); `null` when empty (the step was never
 * sampled).
 * @throws SlurmOutputError for anything else.
 */
export function parseRss(s: string): number | null {
  const text = s.trim();
  if (text === "") return null;
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/i.exec(text);
  if (!m) throw new SlurmOutputError(`not a sacct MaxRSS: ${JSON.stringify(s)}`);
  return Math.round(Number(m[1]) * BYTES_PER_UNIT[m[2]!.toUpperCase()]!);
}

/** Milliseconds from a Slurm elapsed string, for a running job's start. */
export function startFromElapsed(elapsed: string | undefined): number | undefined {
  const s = elapsed ? parseSlurmDuration(elapsed) : null;
  return s === null ? undefined : Date.now() - s * 1000;
}
