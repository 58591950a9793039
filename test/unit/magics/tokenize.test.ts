/** Shell-like splitting of magic lines. */
import { tokenize } from "../../../src/magics/tokenize";
import { MagicError } from "../../../src/magics/types";

describe("tokenize", () => {
  test.each<[string, string[]]>([
    ["", []],
    ["   ", []],
    ["-p acpu --time 1:00:00", ["-p", "acpu", "--time", "1:00:00"]],
    ["  -p\tacpu  ", ["-p", "acpu"]],
    ["--job-name 'cell 7: plot'", ["--job-name", "cell 7: plot"]],
    ['--job-name "cell 7: plot"', ["--job-name", "cell 7: plot"]],
    ['--job-name="a b"', ["--job-name=a b"]],
    ["--job-name=it\\'s", ["--job-name=it's"]],
    ["a\\ b", ["a b"]],
    ['"a \\"b\\" c"', ['a "b" c']],
    ['"back\\\\slash"', ["back\\slash"]],
    ['"\\n stays"', ["\\n stays"]],
    ["'single \\ stays'", ["single \\ stays"]],
    ["''", [""]],
    ['x""y', ["xy"]],
    ["'a'\"b\"c", ["abc"]],
    ["$HOME ~ *", ["$HOME", "~", "*"]],
    ["--mem 8G  # more later", ["--mem", "8G"]],
    ["--job-name=a#b", ["--job-name=a#b"]], // # inside a word: not a comment, as in a shell
    ["'#' \"#\"", ["#", "#"]],
  ])("%j → %j", (line, words) => {
    expect(tokenize(line)).toEqual(words);
  });

  test.each<[string, string[]]>([
    ["--job-name=a#b", ["--job-name=a"]],
    ['--job-name="a#b" # why', ["--job-name=a#b"]],
    ["--time=5 #another", ["--time=5"]],
  ])("sbatch's #SBATCH comments (anywhere): %j → %j", (line, words) => {
    expect(tokenize(line, { comments: "anywhere" })).toEqual(words);
  });

  test("comments: none keeps #", () => {
    expect(tokenize("# x", { comments: "none" })).toEqual(["#", "x"]);
  });

  test.each([
    ["--job-name 'cell 7", "unclosed ' (single quote) in %%slurm: close it or escape it with \\'"],
    ['--job-name "cell 7', 'unclosed " (double quote) in %%slurm: close it or escape it with \\"'],
    ['"a \\"', 'unclosed " (double quote) in %%slurm'],
    ["--mem 8G \\", "a lone \\ at the end of the line in %%slurm: remove it or write \\\\"],
  ])("refuses %j", (line, message) => {
    expect(() => tokenize(line, { source: "%%slurm" })).toThrow(MagicError);
    expect(() => tokenize(line, { source: "%%slurm" })).toThrow(message);
  });

  test("line breaks separate words (option text from the configuration), other controls are refused", () => {
    expect(tokenize("--account x\n--time 1:00\r\n")).toEqual(["--account", "x", "--time", "1:00"]);
    expect(() => tokenize("--mem\u20284G", { source: "slurm.defaults" })).toThrow(
      "U+2028 (LINE SEPARATOR) after `--mem` in slurm.defaults: delete that character",
    );
    expect(() => tokenize("-p\tacpu --mem\u000b4G")).toThrow(
      "U+000B (LINE TABULATION) after `-p\tacpu --mem`",
    );
  });

  test("a quote inside a comment is not unbalanced", () => {
    expect(tokenize("-p acpu # Maya's", { source: "%%slurm" })).toEqual(["-p", "acpu"]);
  });
});
