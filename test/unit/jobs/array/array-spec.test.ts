/** Job-array task lists: sbatch's --array values and squeue's array ids (real 22.05 spellings). */
import {
  describeTasks,
  formatTaskList,
  parseArrayRowId,
  parseArraySpec,
} from "../../../../src/jobs/array/array-spec";
import { SlurmValueError } from "../../../../src/jobs/slurm/slurm-time";

const range = (a: number, b: number, step = 1) =>
  Array.from({ length: Math.floor((b - a) / step) + 1 }, (_, i) => a + i * step);

describe("parseArraySpec", () => {
  test.each<[string, number[], number | undefined]>([
    ["0-99%10", range(0, 99), 10],
    ["0-19", range(0, 19), undefined],
    ["7", [7], undefined],
    ["1,3,5-7", [1, 3, 5, 6, 7], undefined],
    ["0-20:5", [0, 5, 10, 15, 20], undefined],
    ["5-7,1,6", [1, 5, 6, 7], undefined],
    [" 0-3%1 ", [0, 1, 2, 3], 1],
  ])("%s", (value, tasks, throttle) => {
    const spec = parseArraySpec(value);
    expect(spec.tasks).toEqual(tasks);
    expect(spec.throttle).toBe(throttle);
    expect(spec.text).toBe(value.trim());
  });

  test.each<[string, string]>([
    ["", "write the task list first"],
    ["a-b", "'a-b' is neither N nor N-M nor N-M:STEP"],
    ["9-3", "9-3 counts down"],
    ["0-10:0", "the step of 0-10:0 must be at least 1"],
    ["0-9%0", "%0 would never run a task"],
    ["0-9%", "write the task list first"],
    ["0-9%2%3", "write the task list first"],
    ["-1", "'-1' is neither"],
    ["0-1000000", "more than 100000 tasks"],
    ["1,,2", "'' is neither"],
  ])("refused: %j", (value, why) => {
    expect(() => parseArraySpec(value)).toThrow(SlurmValueError);
    expect(() => parseArraySpec(value)).toThrow(why);
    expect(() => parseArraySpec(value)).toThrow("use e.g. 0-99 (tasks 0 to 99)");
  });
});

describe("formatTaskList and describeTasks", () => {
  test("compact ranges, as Slurm writes them", () => {
    expect(formatTaskList([0, 1, 2, 3, 7, 9, 10, 11, 12])).toBe("0-3,7,9-12");
    expect(formatTaskList([5])).toBe("5");
    expect(formatTaskList([])).toBe("");
    expect(parseArraySpec(formatTaskList([1, 2, 4, 8, 9])).tasks).toEqual([1, 2, 4, 8, 9]);
  });
  test("for people, cut after a dozen items", () => {
    expect(describeTasks([7, 13, 20, 21, 22])).toBe("7, 13, 20-22");
    const many = range(0, 60, 2);
    expect(describeTasks(many, 3)).toBe(`0, 2, 4 and ${many.length - 3} more`);
    expect(describeTasks([...range(0, 9), 20, 30], 2)).toBe("0-9, 20 and 1 more");
  });
});

describe("parseArrayRowId (squeue -O JobArrayID)", () => {
  test.each([
    ["2221_1", { arrayId: "2221", tasks: [1] }],
    ["2221_[2-5%2]", { arrayId: "2221", tasks: [2, 3, 4, 5] }],
    ["27_[1-3]", { arrayId: "27", tasks: [1, 2, 3] }],
    ["2077_[1-199:3]", { arrayId: "2077", tasks: range(1, 199, 3) }],
    ["4521_[1,3,5-7]", { arrayId: "4521", tasks: [1, 3, 5, 6, 7] }],
    ["4521", { arrayId: "4521" }],
  ])("%s", (id, row) => {
    expect(parseArrayRowId(id)).toEqual(row);
  });

  test("a list squeue cut at SLURM_BITSTR_LEN (captured: no closing bracket): the last item may be cut short", () => {
    // squeue 22.05, an array of 80 scattered tasks, default SLURM_BITSTR_LEN=64.
    expect(parseArrayRowId("2078_[2,9,22,26,29,31,64,96,102")).toEqual({
      arrayId: "2078",
      tasks: [2, 9, 22, 26, 29, 31, 64, 96],
      cutAfter: 96,
    });
    expect(parseArrayRowId("2078_[2,9,...]")).toEqual({ arrayId: "2078", tasks: [2, 9], cutAfter: 9 });
    expect(parseArrayRowId("2078_[779-78")).toEqual({ arrayId: "2078", tasks: [], cutAfter: -1 });
  });

  test("not an array id", () => {
    expect(parseArrayRowId("abc")).toBeUndefined();
    expect(parseArrayRowId("12_x")).toBeUndefined();
  });
});
