/** Cells → kernel line magics, the cell's own options and the Python body (line numbers kept). */
import { parseCell } from "../../../src/magics/parse-cell";
import { MagicError, type CellPlan } from "../../../src/magics/types";

const cell = (...lines: string[]): string => lines.join("\n");

describe("parseCell", () => {
  test.each<[string, string, CellPlan]>([
    [
      "plain Python",
      cell("import numpy as np", "print(1)"),
      { lineMagics: [], body: cell("import numpy as np", "print(1)") },
    ],
    ["an empty cell", "", { lineMagics: [], body: "" }],
    [
      "%%slurm with options (journey [4])",
      cell("%%slurm -p aa100 --gres gpu:1 --time 0:30:00", "import torch; model = train(df)"),
      {
        lineMagics: [],
        cellOptions: {
          sbatch: [
            ["--partition", "aa100"],
            ["--gres", "gpu:1"],
            ["--time", "0:30:00"],
          ],
          detach: false,
        },
        body: cell("", "import torch; model = train(df)"),
      },
    ],
    [
      "%%slurm alone",
      cell("%%slurm", ""),
      { lineMagics: [], cellOptions: { sbatch: [], detach: false }, body: "\n" },
    ],
    [
      "%%slurm with an empty body",
      "%%slurm -p acpu --detach",
      { lineMagics: [], cellOptions: { sbatch: [["--partition", "acpu"]], detach: true }, body: "" },
    ],
    [
      "#SBATCH lines (journey [5]) stay in the body: they are comments",
      cell("#SBATCH --mem=64G", "#SBATCH --time=4:00:00", "big = load_everything()"),
      {
        lineMagics: [],
        cellOptions: {
          sbatch: [
            ["--mem", "64G"],
            ["--time", "4:00:00"],
          ],
          detach: false,
        },
        body: cell("#SBATCH --mem=64G", "#SBATCH --time=4:00:00", "big = load_everything()"),
      },
    ],
    [
      "%%slurm first, then #SBATCH in order, a later value winning; comments and blank lines among them",
      cell(
        "%%slurm -p acpu --mem 8G",
        "#SBATCH --mem=16G",
        "# memory for the join",
        "",
        "#SBATCH -t 10  # ten minutes",
        "x = 1",
      ),
      {
        lineMagics: [],
        cellOptions: {
          sbatch: [
            ["--partition", "acpu"],
            ["--mem", "16G"],
            ["--time", "10"],
          ],
          detach: false,
        },
        body: cell(
          "",
          "#SBATCH --mem=16G",
          "# memory for the join",
          "",
          "#SBATCH -t 10  # ten minutes",
          "x = 1",
        ),
      },
    ],
    [
      "#SBATCH quoting and comments as sbatch reads them",
      cell('#SBATCH --job-name="cell 7: plot#2" # a comment', "#SBATCH -J a#b"),
      {
        lineMagics: [],
        cellOptions: { sbatch: [["--job-name", "a"]], detach: false },
        body: cell('#SBATCH --job-name="cell 7: plot#2" # a comment', "#SBATCH -J a#b"),
      },
    ],
    [
      "%slurm defaults (journey [1])",
      "%slurm --account amc-general --time 1:00:00 --mem 8G",
      {
        lineMagics: [
          { name: "slurm", args: ["--account", "amc-general", "--time", "1:00:00", "--mem", "8G"], line: 1 },
        ],
        body: "",
      },
    ],
    [
      "line magics at the top, then code",
      cell("%squeue", "  %sacct 8812101", "%scancel --all", "%slurm output 8812150_4", "print(1)"),
      {
        lineMagics: [
          { name: "squeue", args: [], line: 1 },
          { name: "sacct", args: ["8812101"], line: 2 },
          { name: "scancel", args: ["--all"], line: 3 },
          { name: "slurm", args: ["output", "8812150_4"], line: 4 },
        ],
        body: cell("", "", "", "", "print(1)"),
      },
    ],
    [
      "%%slurm, then line magics and #SBATCH mixed",
      cell("%%slurm -p aa100", "%squeue", "#SBATCH --gres=gpu:1", "import torch"),
      {
        lineMagics: [{ name: "squeue", args: [], line: 2 }],
        cellOptions: {
          sbatch: [
            ["--partition", "aa100"],
            ["--gres", "gpu:1"],
          ],
          detach: false,
        },
        body: cell("", "", "#SBATCH --gres=gpu:1", "import torch"),
      },
    ],
    [
      "%%slurm? asks for help",
      "%%slurm?",
      { lineMagics: [{ name: "slurm", args: ["?"], line: 1 }], body: "" },
    ],
    ["%slurm? asks for help", "%slurm?", { lineMagics: [{ name: "slurm", args: ["?"], line: 1 }], body: "" }],
    [
      "%slurm ?? asks for help",
      "%slurm ??",
      { lineMagics: [{ name: "slurm", args: ["?"], line: 1 }], body: "" },
    ],
    [
      "%squeue? asks for help",
      "%squeue?",
      { lineMagics: [{ name: "squeue", args: ["?"], line: 1 }], body: "" },
    ],
    [
      "IPython's own magics and shell lines pass through",
      cell("%timeit sum(range(10))", "!ls -l", "%matplotlib inline", "x = 1"),
      { lineMagics: [], body: cell("%timeit sum(range(10))", "!ls -l", "%matplotlib inline", "x = 1") },
    ],
    [
      "an IPython cell magic passes through",
      cell("%%time", "x = 1"),
      { lineMagics: [], body: cell("%%time", "x = 1") },
    ],
    [
      "after an IPython cell magic the lines are not Python: #SBATCH and % lines are left alone",
      cell("%%slurm -p acpu", "%%writefile run_script.sh", "#!/bin/bash", "#SBATCH --mem=8G", "%squeue"),
      {
        lineMagics: [],
        cellOptions: { sbatch: [["--partition", "acpu"]], detach: false },
        body: cell("", "%%writefile run_script.sh", "#!/bin/bash", "#SBATCH --mem=8G", "%squeue"),
      },
    ],
    [
      "%who and %whos at the top are the kernel's (listing the namespace without a job)",
      cell("%whos DataFrame", "%who", "x = 1"),
      {
        lineMagics: [
          { name: "whos", args: ["DataFrame"], line: 1 },
          { name: "who", args: [], line: 2 },
        ],
        body: cell("", "", "x = 1"),
      },
    ],
    [
      "%who and %whos after code are IPython's, run in the job",
      cell("x = 1", "%who", "%whos"),
      { lineMagics: [], body: cell("x = 1", "%who", "%whos") },
    ],
    [
      "names that only start like ours are IPython's",
      cell("%slurmx", "%squeues"),
      { lineMagics: [], body: cell("%slurmx", "%squeues") },
    ],
    [
      "magic-looking lines inside a triple-quoted string are Python",
      cell('script = """#!/bin/bash', "#SBATCH --mem=8G", "%squeue", '"""', "x = '''", "%%slurm", "'''"),
      {
        lineMagics: [],
        body: cell(
          'script = """#!/bin/bash',
          "#SBATCH --mem=8G",
          "%squeue",
          '"""',
          "x = '''",
          "%%slurm",
          "'''",
        ),
      },
    ],
    [
      "a comment mentioning a magic after code is a comment",
      cell("x = 1", "# then run %squeue", "y = '%squeue'"),
      { lineMagics: [], body: cell("x = 1", "# then run %squeue", "y = '%squeue'") },
    ],
    [
      "blank lines before %%slurm (IPython drops them too)",
      cell("", "  ", "%%slurm -p acpu", "x"),
      {
        lineMagics: [],
        cellOptions: { sbatch: [["--partition", "acpu"]], detach: false },
        body: cell("", "  ", "", "x"),
      },
    ],
    [
      "CRLF line ends",
      "%%slurm -p acpu\r\n%squeue\r\nx = 1\r\n",
      {
        lineMagics: [{ name: "squeue", args: [], line: 2 }],
        cellOptions: { sbatch: [["--partition", "acpu"]], detach: false },
        body: "\n\nx = 1\r\n",
      },
    ],
  ])("%s", (_what, code, plan) => {
    expect(parseCell(code)).toEqual(plan);
  });

  test("the body keeps every line where it was", () => {
    const code = cell(
      "%%slurm -p acpu",
      "%squeue",
      "#SBATCH -t 5",
      "",
      "def f():",
      "    raise ValueError()",
      "f()",
    );
    const body = parseCell(code).body.split("\n");
    expect(body).toHaveLength(7);
    expect(body[5]).toBe("    raise ValueError()");
  });
});

describe("parseCell refuses", () => {
  test.each<[string, string, string]>([
    [
      "a kernel magic after code",
      cell("x = 1", "%squeue"),
      "line 2: %squeue must be at the top of a cell, before any Python code",
    ],
    [
      "%slurm after code",
      cell("print(1)", "", "%slurm --mem 8G"),
      "line 3: %slurm must be at the top of a cell, before any Python code",
    ],
    [
      "%scancel after an IPython line magic",
      cell("%timeit x", "%scancel 5"),
      "line 2: %scancel must be at the top of a cell",
    ],
    ["indented, after code", cell("if x:", "    %sacct"), "line 2: %sacct must be at the top of a cell"],
    [
      "%%slurm after a line magic",
      cell("%squeue", "%%slurm -p acpu"),
      "line 2: %%slurm must be the first line of the cell",
    ],
    [
      "%%slurm after #SBATCH",
      cell("#SBATCH -p acpu", "%%slurm"),
      "line 2: %%slurm must be the first line of the cell",
    ],
    ["%%slurm after code", cell("x = 1", "%%slurm"), "line 2: %%slurm must be the first line of the cell"],
    [
      "two %%slurm lines",
      cell("%%slurm -p acpu", "%%slurm -p amem"),
      "line 2: %%slurm must be the first line of the cell",
    ],
    [
      "#SBATCH after code",
      cell("import os", "#SBATCH --mem=64G"),
      "line 2: #SBATCH lines count only at the top of a cell, before any Python code: move this one up",
    ],
    [
      "an unknown option in %%slurm",
      "%%slurm -p acpu --foo",
      "unknown option --foo in %%slurm (%%slurm? lists the options)",
    ],
    ["a word in %%slurm", "%%slurm foo", "unexpected 'foo' in %%slurm: options only"],
    ["an unclosed quote in %%slurm", "%%slurm -J 'unclosed", "unclosed ' (single quote) in %%slurm"],
    [
      "an unclosed quote in a line magic",
      cell("%squeue", "%sacct 'x"),
      "line 2: unclosed ' (single quote) in %sacct",
    ],
    [
      "a missing value in #SBATCH",
      cell("#SBATCH --mem", "x"),
      "--mem needs a value in #SBATCH: memory per node, e.g. 8G or 500M",
    ],
    [
      "a kernel-owned option in #SBATCH",
      cell("%%slurm", "#SBATCH --output=x.log"),
      "line 2: --output is set by the kernel: each cell's output streams into the notebook",
    ],
    [
      "--detach in #SBATCH",
      "#SBATCH --detach",
      "--detach is a %%slurm option, not sbatch's: write it on a %%slurm first line",
    ],
    [
      "a bad time in #SBATCH",
      cell("", "#SBATCH -t 1:70:00"),
      "line 2: --time '1:70:00' is not a Slurm time: use MM, HH:MM:SS or D-HH:MM:SS",
    ],
  ])("%s", (_what, code, message) => {
    expect(() => parseCell(code)).toThrow(MagicError);
    expect(() => parseCell(code)).toThrow(message);
  });
});

describe("characters readers disagree about are refused, on every kind of option line (issue 10, defect 9)", () => {
  // Before: an #SBATCH line holding U+2028 did not match and was taken for a comment (the job ran
  // without the memory asked for), while the same character on a %%slurm line was refused.
  test.each<[string, string, string]>([
    [
      "U+2028 in #SBATCH",
      cell("#SBATCH --mem=64G\u2028", "x = 1"),
      "this #SBATCH line holds U+2028 (LINE SEPARATOR) after `--mem=64G`: delete that character",
    ],
    [
      "U+2029 in #SBATCH, second line",
      cell("#SBATCH -p acpu", "#SBATCH --mem\u202964G", "x = 1"),
      "line 2: this #SBATCH line holds U+2029 (PARAGRAPH SEPARATOR) after `--mem`",
    ],
    [
      "U+2028 in %%slurm",
      cell("%%slurm --mem 64G\u2028", "x = 1"),
      "this %%slurm line holds U+2028 (LINE SEPARATOR) after `--mem 64G`",
    ],
    [
      "U+2028 right after #SBATCH",
      cell("#SBATCH\u2028--mem=64G", "x = 1"),
      "this #SBATCH line holds U+2028 (LINE SEPARATOR) at the start",
    ],
    ["U+2028 in %slurm", cell("%slurm --mem\u202864G"), "this %slurm line holds U+2028 (LINE SEPARATOR)"],
    [
      "a carriage return inside a line",
      cell("#SBATCH --mem=64G\rx = 1"),
      "this #SBATCH line holds U+000D (CARRIAGE RETURN) after `--mem=64G`",
    ],
    [
      "a no-break space from a web page",
      cell("#SBATCH --mem\u00a064G", "x"),
      "this #SBATCH line holds U+00A0 (NO-BREAK SPACE) after `--mem`",
    ],
    [
      "a zero-width space",
      cell("%%slurm -p\u200b acpu", "x"),
      "this %%slurm line holds U+200B (ZERO WIDTH SPACE) after `-p`",
    ],
    [
      "a bidirectional control",
      cell("#SBATCH -J a\u202eb", "x"),
      "U+202E (a bidirectional text control) after `-J a`",
    ],
  ])("%s", (_what, code, message) => {
    expect(() => parseCell(code)).toThrow(MagicError);
    expect(() => parseCell(code)).toThrow(message);
  });

  test("a line ending in \\r\\n (Windows) is fine, and so are such characters in the Python body", () => {
    const plan = parseCell("#SBATCH --mem=4G\r\nprint('a\u2028b')  # \u00a0");
    expect(plan.cellOptions?.sbatch).toEqual([["--mem", "4G"]]);
    expect(plan.body).toBe("#SBATCH --mem=4G\r\nprint('a\u2028b')  # \u00a0");
  });
});

describe("%%bash cells: the cell is a job script", () => {
  test("first line: its #SBATCH lines (sbatch's own options too) are its options, kept in the script", () => {
    const code = cell(
      "%%bash",
      "#!/bin/bash",
      "#SBATCH -p aa100 --gres=gpu:1",
      "#SBATCH --ntasks-per-core=1   # not in the kernel's table: sbatch's, passed on",
      "module load miniforge",
      "#SBATCH --mem=64G",
      "srun nvidia-smi",
    );
    expect(parseCell(code)).toEqual({
      mode: "bash",
      lineMagics: [],
      cellOptions: {
        sbatch: [
          ["--partition", "aa100"],
          ["--gres", "gpu:1"],
          ["--ntasks-per-core", "1"],
        ],
        detach: false,
      },
      // After the first command, #SBATCH is a comment (as sbatch reads it); line numbers kept.
      body: cell("", ...code.split("\n").slice(1)),
    });
  });

  test("after a %%slurm line; --output/--error of a pasted script are left out and named", () => {
    const plan = parseCell(
      cell("%%slurm --detach -t 10", "%%bash", "#SBATCH --output=run-%j.out -e run.err", "echo hi"),
    );
    expect(plan.mode).toBe("bash");
    expect(plan.cellOptions).toEqual({
      sbatch: [["--time", "10"]],
      detach: true,
      ignored: ["--output", "-e"],
    });
    expect(plan.body).toBe(cell("", "", "#SBATCH --output=run-%j.out -e run.err", "echo hi"));
  });

  test("#SBATCH --array in a job script: an array of bash tasks", () => {
    expect(
      parseCell(cell("%%bash", "#SBATCH --array=0-9%2", "echo $SLURM_ARRAY_TASK_ID")).cellOptions,
    ).toEqual({ sbatch: [["--array", "0-9%2"]], detach: false });
  });

  test("kernel line magics are not read in a bash cell (they are its text)", () => {
    expect(parseCell(cell("%%bash", "echo %slurm")).lineMagics).toEqual([]);
  });

  test.each([
    ["options on %%bash", cell("%%bash --out x", "ls"), "%%bash takes no options"],
    [
      "%%bash after Python",
      cell("x = 1", "%%bash"),
      "line 2: %%bash must come first in the cell, or right after its %%slurm line",
    ],
    [
      "%%slurm after %%bash",
      cell("%%bash", "%%slurm -p acpu"),
      "line 2: %%slurm must come first in the cell, before the script",
    ],
    ["a kernel-owned option", cell("%%bash", "#SBATCH --chdir=/tmp"), "line 2: --chdir is set by the kernel"],
    ["a typo", cell("%%bash", "#SBATCH --partiton=acpu"), "did you mean --partition?"],
    ["a bad array", cell("%%bash", "#SBATCH --array=9-3"), "9-3 counts down"],
  ])("refused: %s", (_what, code, message) => {
    expect(() => parseCell(code)).toThrow(MagicError);
    expect(() => parseCell(code)).toThrow(message);
  });
});

describe("%%srun cells: the Python on every task", () => {
  test("after %%slurm; the Python header (line magics, #SBATCH) as in any cell", () => {
    const plan = parseCell(
      cell("%%slurm -N 2 --ntasks-per-node 4", "%%srun", "#SBATCH -p atesting", "print(rank, size)"),
    );
    expect(plan).toEqual({
      mode: "srun",
      lineMagics: [],
      cellOptions: {
        sbatch: [
          ["--nodes", "2"],
          ["--ntasks-per-node", "4"],
          ["--partition", "atesting"],
        ],
        detach: false,
      },
      body: cell("", "", "#SBATCH -p atesting", "print(rank, size)"),
    });
  });

  test("alone on the first line", () => {
    expect(parseCell(cell("%%srun", "print(rank)")).mode).toBe("srun");
  });

  test("--after on %%slurm: the cells or jobs it waits for", () => {
    expect(parseCell(cell("%%slurm --after 12,4519 --after 13", "x")).cellOptions).toEqual({
      sbatch: [],
      detach: false,
      after: ["12", "4519", "13"],
    });
  });
});
