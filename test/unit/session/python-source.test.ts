/**
 * is_complete for terminal frontends (jupyter console): the same verdicts as IPython's
 * TransformerManager.check_complete (7.x/8.x), which the cases below were checked against.
 */
import { isComplete, tokenAt, wordAround } from "../../../src/session/python-source";

type Verdict = ["complete" | "invalid"] | ["incomplete", string];

const cases: [string, Verdict][] = [
  ["", ["complete"]],
  ["x = 1", ["complete"]],
  ["# just a comment", ["complete"]],
  ["a = {'k': (1, 2)}", ["complete"]],
  ["x = 'a#b'", ["complete"]],
  ['x = "("', ["complete"]],
  ["x = '\\\\'", ["complete"]],
  ['s = """doc\n\nmore"""', ["complete"]],
  ["x = 1\n\n", ["complete"]],
  ["def f(x):\n    return x\n", ["complete"]],
  ["while True:\n    break\n", ["complete"]],
  ["%time x = 1", ["complete"]],
  ["#SBATCH --time 1\nx=1", ["complete"]],
  ["x = 1 # a comment ending in a backslash \\", ["complete"]],
  ["for i in range(3):", ["incomplete", "    "]],
  ["class A:  # comment", ["incomplete", "    "]],
  ["async def f():", ["incomplete", "    "]],
  ["match x:", ["incomplete", "    "]],
  ["def f(x):\n    return x", ["incomplete", "    "]],
  ["if x:\n    pass\nelse:", ["incomplete", "    "]],
  ["try:\n    x\nexcept:", ["incomplete", "    "]],
  ["if True:\n    if x:\n        y", ["incomplete", "        "]],
  ["print(1,", ["incomplete", ""]],
  ["lambda: (", ["incomplete", ""]],
  ["x = [1,\n 2", ["incomplete", " "]],
  ["s = '''abc", ["incomplete", ""]],
  ["x = 1 \\", ["incomplete", ""]],
  ["s = 'abc\\", ["incomplete", ""]],
  // A cell magic takes the lines below it: the cell ends with a blank line, as in IPython.
  ["%%slurm --time 1:00", ["incomplete", ""]],
  ["%%slurm --time 1:00\n", ["incomplete", ""]],
  ["%%slurm --time 1:00\nimport os\n", ["incomplete", ""]],
  ["%%slurm --time 1:00\nimport os\n\n", ["complete"]],
  ["x = (1]", ["invalid"]],
  [")", ["invalid"]],
  ["s = 'abc", ["invalid"]],
  // Balanced, but not Python (jupyter_kernel_test's ipykernel sample; a keyword as a target).
  ["import = 7q", ["invalid"]],
  ["def = 3", ["invalid"]],
  ["a := 1", ["invalid"]],
  // IPython's own syntax is not a syntax error.
  ["!ls -l", ["complete"]],
  ["files = !ls", ["complete"]],
  ["zip?", ["complete"]],
  ["df.head??", ["complete"]],
  ["%timeit -n 3 sum(range(10))", ["complete"]],
  ["if x:\n    %time y = 1\n", ["complete"]],
  ["match p:\n    case [x, y]:\n        pass\n", ["complete"]],
  ["y = (x := 2)", ["complete"]],
  ["def f[T](x: T) -> T:\n    return x\n", ["complete"]],
];

test.each(cases)("is_complete %j → %j", (code, [status, indent]) => {
  expect(isComplete(code)).toEqual(status === "incomplete" ? { status, indent } : { status });
});

describe("tokens under the cursor", () => {
  test.each([
    ["np.arr", 6, "np.arr", 0],
    ["x = foo", 7, "foo", 4],
    ["x = foo", 5, "f", 4],
    ["%%slu", 5, "%%slu", 0],
    ["print(ab", 8, "ab", 6],
    ["", 0, "", 0],
  ])("tokenAt(%j, %d) → %j from %d", (code, cursor, token, start) => {
    expect(tokenAt(code, cursor)).toMatchObject({ token, start });
  });

  test.each([
    ["print(value_x)", 8, "value_x"],
    ["print(value_x)", 13, "value_x"],
    ["%slurm --time", 3, "%slurm"],
    ["a + b", 2, ""],
  ])("wordAround(%j, %d) → %j", (code, cursor, word) => {
    expect(wordAround(code, cursor)).toBe(word);
  });
});
