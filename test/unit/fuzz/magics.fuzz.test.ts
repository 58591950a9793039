/**
 * Fuzzing the magic and #SBATCH parser and what it feeds (issue 10, "fuzzers in the suite"): any
 * cell either parses or is refused with a MagicError — never another exception, never a hang; and
 * the options of a cell that parses reach sbatch exactly as parsed and never a shell line. The
 * shell side of the job script is fuzzed with real bash in test/integration/fuzz/job-script-shell.
 */
import fc from "fast-check";
import { InputError } from "../../../src/errors";
import { renderJobScript, type JobScriptInput } from "../../../src/jobs/job-script";
import { parseCell } from "../../../src/magics/parse-cell";
import { KERNEL_OPTIONS, KERNEL_OWNED_SBATCH, SBATCH_OPTIONS } from "../../../src/magics/registry";
import { MagicError } from "../../../src/magics/types";
import { base } from "../../fixtures/job-scripts/cases";
import { FUZZ, FUZZ_RUNS } from "../../helpers/fuzz";
import { sbatchArguments } from "./sbatch-line";

/** Words a cell's option lines are made of: real options (all spellings), values, shell and quoting trouble. */
const spellings = [...SBATCH_OPTIONS, ...KERNEL_OPTIONS, ...KERNEL_OWNED_SBATCH].flatMap((o) => [
  o.long,
  ...(o.short ? [o.short] : []),
]);
const nasty = fc.constantFrom(
  "'",
  '"',
  "\\",
  "#",
  "$(id)",
  "`id`",
  ";",
  "&&",
  "|",
  ">",
  "\u2028",
  "\u2029",
  "\u00a0",
  "\u200b",
  "\r",
  "\t",
  "\u0000",
  "\u202e",
  "é",
  "😀",
  "=",
  " ",
  "?",
  "??",
);
const value = fc.oneof(
  fc.constantFrom("acpu", "aa100", "1:00:00", "8G", "gpu:1", "ucb-general", "ALL", "a@b.c", "now+1hour", "1"),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(nasty, fc.string({ maxLength: 3 })), { maxLength: 5 }).map((a) => a.join("")),
);
const word = fc.oneof(
  fc.constantFrom(...spellings),
  fc.tuple(fc.constantFrom(...spellings), value).map(([o, v]) => `${o}=${v}`),
  value,
  nasty,
);
const optionText = fc.array(word, { maxLength: 6 }).map((ws) => ws.join(" "));
const line = fc.oneof(
  optionText.map((t) => `%%slurm ${t}`),
  optionText.map((t) => `#SBATCH ${t}`),
  optionText.map((t) => `%slurm ${t}`),
  fc.constantFrom("%squeue", "%scancel 5", "%sacct", "%%slurm?", "%slurm?", "#SBATCH", "%%slurm"),
  fc.constantFrom("x = 1", "print('a')", "", "# a comment", '"""', "'''", "%%bash", "!ls", "%time x"),
  fc.string({ maxLength: 20 }),
);
const cell = fc.array(line, { maxLength: 8 }).map((ls) => ls.join("\n"));

/** Cells whose options mostly parse: free-text values full of quoting trouble, quoted for the tokenizer. */
const freeText = fc
  .array(
    fc.oneof(nasty, fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom("a", "b c", "-x", "'s")),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((a) => a.join(""));
const quoted = (v: string) => `"${v.replace(/["\\]/g, "\\$&")}"`;
const option = fc.oneof(
  fc
    .tuple(fc.constantFrom("--job-name", "-J", "--constraint", "-C", "--mail-user", "--begin"), freeText)
    .map(([o, v]) => (o.startsWith("--") ? `${o}=${quoted(v)}` : `${o} ${quoted(v)}`)),
  fc.constantFrom(
    "--mem 8G",
    "-p acpu",
    "--time=1:00:00",
    "--exclusive",
    "-c 4",
    "--gres gpu:1",
    "--requeue",
  ),
);
const optionCell = fc
  .tuple(
    fc.boolean(),
    fc.array(fc.array(option, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
  )
  .map(([first, lines]) =>
    [
      ...lines.map((opts, i) =>
        i === 0 && first ? `%%slurm ${opts.join(" ")}` : `#SBATCH ${opts.join(" ")}`,
      ),
      "x = 1",
    ].join("\n"),
  );

describe("parseCell under fuzzing", () => {
  test("every cell parses or is refused with a MagicError", () => {
    fc.assert(
      fc.property(cell, (code) => {
        try {
          const plan = parseCell(code);
          expect(typeof plan.body).toBe("string");
          expect(plan.body.split("\n").length).toBe(code.split("\n").length); // line numbers kept
        } catch (err) {
          if (!(err instanceof MagicError)) throw err;
          expect(err.message.length).toBeGreaterThan(0);
        }
      }),
      FUZZ,
    );
  });

  test("a cell's options reach sbatch as parsed, and change no line bash runs", () => {
    const scriptInput = (sbatch: JobScriptInput["sbatch"]): JobScriptInput => ({ ...base, sbatch });
    const shellLines = (script: string) => script.split("\n").filter((l) => !l.startsWith("#"));
    const withoutOptions = shellLines(renderJobScript(scriptInput([])));
    let compared = 0;
    fc.assert(
      fc.property(fc.oneof(cell, optionCell, optionCell), (code) => {
        let sbatch: JobScriptInput["sbatch"] | undefined;
        try {
          sbatch = parseCell(code).cellOptions?.sbatch;
        } catch (err) {
          if (err instanceof MagicError) return;
          throw err;
        }
        if (!sbatch?.length) return;
        let script: string;
        try {
          script = renderJobScript(scriptInput(sbatch));
        } catch (err) {
          if (err instanceof InputError) return; // refused whole, with a message
          throw err;
        }
        compared++;
        expect(shellLines(script)).toEqual(withoutOptions);
        const cellLines = script
          .split("\n")
          .filter((l) => l.startsWith("#SBATCH "))
          .slice(3); // after --job-name, --output, --error
        // What sbatch reads from each line is the option as the cell gave it.
        expect(cellLines.map(sbatchArguments)).toEqual(
          sbatch.map(([flag, v]) => [v === undefined ? flag : `${flag}=${v}`]),
        );
      }),
      FUZZ,
    );
    expect(compared).toBeGreaterThan(FUZZ_RUNS / 5); // the property was not vacuous
  });
});
