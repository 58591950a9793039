/**
 * One cell's source → what the kernel does with it ({@link CellPlan}). Pure.
 *
 * A cell may start with, in this order: a `%%slurm` line; a `%%srun` or `%%bash` line; then, mixed
 * with blank and comment lines, `#SBATCH` lines (as in a batch script) and the kernel's line magics
 * (`%slurm`, `%squeue`, `%scancel`, `%sacct`, `%upload`, `%download`, `%who`, `%whos`). Python code
 * (or an IPython magic, or `!cmd`) ends that header. The body keeps every line where it was — magic
 * lines become empty — so tracebacks name the cell's own line numbers.
 *
 * A `%%bash` cell is a job script: its `#SBATCH` lines (before its first command, as sbatch reads
 * them) are its options, kept in the script as the comments they are to bash; kernel line magics
 * do not apply to it.
 */
import { describeUnsafeCharacter, findUnsafeCharacter } from "../jobs/script-characters";
import { mergeOptions, parseSlurmOptions } from "./sbatch-args";
import { tokenize } from "./tokenize";
import {
  LINE_MAGIC_NAMES,
  MagicError,
  type CellPlan,
  type LineMagic,
  type LineMagicName,
  type ParsedOptions,
} from "./types";

// `s`: the rest of the line is everything up to the \n, whatever it holds; without it, a line with
// a U+2028 in it did not match and an #SBATCH line was silently taken for a comment.
const CELL_MAGIC = /^%%slurm(?=$|[\s?])(.*)$/s;
const MODE_MAGIC = /^%%(bash|srun)(?=$|\s)(.*)$/s;
/** The kernel's own only at the top of a cell; after Python code they are IPython's, run in the job. */
const HEADER_ONLY: readonly LineMagicName[] = ["who", "whos"];
const magicLine = (names: readonly string[]) => new RegExp(`^%(${names.join("|")})(?=$|[\\s?])(.*)$`, "s");
const LINE_MAGIC = magicLine(LINE_MAGIC_NAMES.filter((n) => !HEADER_ONLY.includes(n)));
const HEADER_MAGIC = magicLine(HEADER_ONLY);
const SBATCH = /^#SBATCH(?=$|\s)(.*)$/s;

function lineMagicName(word: string): LineMagicName {
  const name = LINE_MAGIC_NAMES.find((n) => n === word);
  if (!name) throw new MagicError(`not a kernel magic: %${word}`); // unreachable: LINE_MAGIC only matches these
  return name;
}

/** A kernel magic or #SBATCH line holding a character that readers disagree about is refused. */
function refuseUnsafe(line: string, source: string): void {
  const bad = findUnsafeCharacter(line);
  if (bad)
    throw new MagicError(
      `this ${source} line holds ${describeUnsafeCharacter(line, bad)}: delete that character (type a plain space if it was meant as one); such characters come with text copied from web pages and PDFs`,
    );
}

/** `?`/`??` right after a magic's name (or as its only word) asks for its help. */
function magicArgs(rest: string, source: string): string[] {
  refuseUnsafe(rest, source);
  const args = tokenize(rest, { source });
  return args.length === 1 && /^\?\??$/.test(args[0]!) ? ["?"] : args;
}

/** Where each line starts, in Python terms: inside a triple-quoted string or not. */
function linesInsideStrings(lines: readonly string[], from: number): boolean[] {
  const inside: boolean[] = [];
  let open: string | undefined; // the triple quote we are inside
  for (let n = from; n < lines.length; n++) {
    inside[n] = open !== undefined;
    const line = lines[n]!;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (open) {
        if (c === "\\") i++;
        else if (line.startsWith(open, i)) [open, i] = [undefined, i + 2];
      } else if (c === "#") {
        break;
      } else if (c === "'" || c === '"') {
        if (line.startsWith(c.repeat(3), i)) [open, i] = [c.repeat(3), i + 2];
        else for (i++; i < line.length && line[i] !== c; i++) if (line[i] === "\\") i++;
      }
    }
  }
  return inside;
}

const at = (n: number, message: string): MagicError =>
  new MagicError(n === 0 ? message : `line ${n + 1}: ${message}`);

/** Re-raises a MagicError from an option line with the line number in front. */
function onLine<T>(n: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof MagicError) throw at(n, err.message);
    throw err;
  }
}

/**
 * Splits a cell into its kernel line magics, its own Slurm options and the Python body.
 * Options: the `%%slurm` line's first, then each `#SBATCH` line's in order, a later value of the
 * same option winning. `%%slurm?` and `%slurm?` become the line magic `slurm` with args `["?"]`.
 * @throws MagicError when `%%slurm` is not the first line, a kernel magic or `#SBATCH` line comes
 *   after Python code, or an option is refused (see parseSlurmOptions).
 */
export function parseCell(code: string): CellPlan {
  const lines = code.split("\n");
  const text = (n: number): string => lines[n]!.replace(/\r$/, "").trimStart();
  const body = [...lines];
  const lineMagics: LineMagic[] = [];
  let options: ParsedOptions | undefined;

  let n = 0;
  while (n < lines.length && text(n) === "") n++;
  const first = n < lines.length ? CELL_MAGIC.exec(text(n)) : null;
  if (first) {
    const args = onLine(n, () => magicArgs(first[1]!, "%%slurm"));
    if (args[0] === "?") lineMagics.push({ name: "slurm", args, line: n + 1 });
    else options = onLine(n, () => parseSlurmOptions(args, "%%slurm"));
    body[n] = "";
    n++;
  }

  let mode: CellPlan["mode"];
  const modeLine = n < lines.length ? MODE_MAGIC.exec(text(n)) : null;
  if (modeLine) {
    mode = modeLine[1] as "bash" | "srun";
    if (modeLine[2]!.trim())
      throw at(
        n,
        `%%${mode} takes no options: put the job's options on a %%slurm line above it or in #SBATCH lines`,
      );
    body[n] = "";
    n++;
  }
  if (mode === "bash") return bashPlan(lines, n, body, options);

  // The header: blank lines, comments, #SBATCH lines and kernel line magics.
  for (; n < lines.length; n++) {
    const line = text(n);
    const sbatch = SBATCH.exec(line);
    const magic = LINE_MAGIC.exec(line) ?? HEADER_MAGIC.exec(line);
    if (sbatch) {
      const parsed = onLine(n, () => {
        refuseUnsafe(sbatch[1]!, "#SBATCH");
        return parseSlurmOptions(
          tokenize(sbatch[1]!, { comments: "anywhere", source: "#SBATCH" }),
          "#SBATCH",
        );
      });
      options = options ? mergeOptions(options, parsed) : parsed;
    } else if (magic) {
      const name = lineMagicName(magic[1]!);
      lineMagics.push({ name, args: onLine(n, () => magicArgs(magic[2]!, `%${name}`)), line: n + 1 });
      body[n] = "";
    } else if (CELL_MAGIC.test(line)) {
      throw at(n, "%%slurm must be the first line of the cell");
    } else if (MODE_MAGIC.test(line)) {
      throw at(n, `${line.split(/\s/)[0]} must come first in the cell, or right after its %%slurm line`);
    } else if (line !== "" && !line.startsWith("#")) {
      break;
    }
  }

  // The code: kernel magics here would run after Python the user expects to run first. After an
  // IPython cell magic (%%writefile, %%bash) the lines are not Python: leave them alone.
  if (n < lines.length && !text(n).startsWith("%%")) {
    const inString = linesInsideStrings(lines, n);
    for (let k = n; k < lines.length; k++) {
      if (inString[k]) continue;
      const line = text(k);
      const magic = LINE_MAGIC.exec(line);
      if (magic) throw at(k, `%${magic[1]} must be at the top of a cell, before any Python code`);
      if (CELL_MAGIC.test(line)) throw at(k, "%%slurm must be the first line of the cell");
      if (MODE_MAGIC.test(line))
        throw at(k, `${line.split(/\s/)[0]} must come first in the cell, or right after its %%slurm line`);
      if (SBATCH.test(line))
        throw at(
          k,
          "#SBATCH lines count only at the top of a cell, before any Python code: move this one up",
        );
    }
  }

  const plan: CellPlan = { lineMagics, body: body.join("\n") };
  if (mode) plan.mode = mode;
  if (options) plan.cellOptions = options;
  return plan;
}

/**
 * A `%%bash` cell from line `n` on: `#SBATCH` lines up to its first command are options (sbatch's
 * other options too: it is the user's own job script), and stay in the script.
 */
function bashPlan(
  lines: readonly string[],
  from: number,
  body: string[],
  cellOptions: ParsedOptions | undefined,
): CellPlan {
  let options = cellOptions;
  for (let n = from; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, "").trimStart();
    const sbatch = SBATCH.exec(line);
    if (sbatch) {
      const parsed = onLine(n, () => {
        refuseUnsafe(sbatch[1]!, "#SBATCH");
        return parseSlurmOptions(
          tokenize(sbatch[1]!, { comments: "anywhere", source: "#SBATCH" }),
          "#SBATCH",
          { jobScript: true },
        );
      });
      options = options ? mergeOptions(options, parsed) : parsed;
    } else if (CELL_MAGIC.test(line) || MODE_MAGIC.test(line)) {
      throw at(n, `${line.split(/\s/)[0]} must come first in the cell, before the script`);
    } else if (line !== "" && !line.startsWith("#")) {
      break;
    }
  }
  const plan: CellPlan = { mode: "bash", lineMagics: [], body: body.join("\n") };
  if (options) plan.cellOptions = options;
  return plan;
}
