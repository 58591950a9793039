/**
 * renderJobScript: golden files in test/fixtures/job-scripts/ (regenerate with UPDATE_GOLDEN=1 after
 * an intended change, and review the diff), and refusal of what cannot go on one #SBATCH line. That
 * the scripts are valid bash and quote what they must is checked with bash in
 * test/integration/jobs/job-script-bash.test.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../../src/errors";
import { renderJobScript, type JobScriptInput } from "../../../src/jobs/job-script";
import { GOLDEN, base, cases } from "../../fixtures/job-scripts/cases";

describe("golden job scripts", () => {
  test.each(Object.keys(cases))("%s.sh", (name) => {
    const text = renderJobScript(cases[name]!);
    const file = join(GOLDEN, `${name}.sh`);
    if (process.env.UPDATE_GOLDEN === "1") {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(file, text);
    }
    expect(text).toBe(readFileSync(file, "utf8"));
  });

  test("rendering is pure: the same input gives the same text", () => {
    expect(renderJobScript(cases["alpine-full"]!)).toBe(renderJobScript(cases["alpine-full"]!));
  });
});

describe("refusals", () => {
  const cases: [string, Partial<JobScriptInput>, RegExp][] = [
    [
      "newline in an sbatch value",
      { sbatch: [["--comment", "one\ntwo"]] },
      /--comment value must be on one line/,
    ],
    [
      "carriage return in an sbatch value",
      { sbatch: [["--time", "1:00\r"]] },
      /--time value must be on one line/,
    ],
    ["newline in the job name", { jobName: "a\nb" }, /--job-name value must be on one line/],
    [
      "newline in the output path",
      { stdoutPath: "/tmp/x\n#SBATCH --exclusive" },
      /--output value must be on one line/,
    ],
    [
      "U+2028 in an sbatch value",
      { sbatch: [["--mem", "4G\u2028"]] },
      /--mem value holds U\+2028 \(LINE SEPARATOR\) after `4G`/,
    ],
    ["a control character in the job name", { jobName: "a\u0007b" }, /--job-name value holds U\+0007/],
    // Found by the job-script fuzzer: bash drops a NUL, sbatch reads only up to it, and refuses \r\n.
    [
      "a NUL in a runner argument",
      { runnerArgs: ["--code", "a\u0000b"] },
      /a runner argument "a\\u0000b" contains a NUL/,
    ],
    [
      "a carriage return in the working directory",
      { workDir: "/w\r\n" },
      /the working directory "\/w\\r\\n" contains a carriage return/,
    ],
    [
      "a NUL in environment.python",
      { environment: { ...base.environment, python: "py\u0000" } },
      /environment.python/,
    ],
    ["a short option", { sbatch: [["-p", "acpu"]] }, /not an sbatch long option: "-p"/],
    ["upper case", { sbatch: [["--Partition", "acpu"]] }, /not an sbatch long option/],
    ["shell syntax in the flag", { sbatch: [["--time;rm", "1"]] }, /not an sbatch long option/],
    ["an option with its value glued on", { sbatch: [["--mem=4G"]] }, /not an sbatch long option/],
  ];
  test.each(cases)("%s", (_name, patch, message) => {
    expect(() => renderJobScript({ ...base, ...patch })).toThrow(InputError);
    expect(() => renderJobScript({ ...base, ...patch })).toThrow(message);
  });

  test("control characters in the description (a notebook's name) become spaces: sbatch would stop at a NUL", () => {
    const text = renderJobScript({ ...base, description: "nb\u0000x\u0007y\u0085z" });
    expect(text).toContain("# nb x y z\n");
  });

  test("a newline in the description cannot start a new script line", () => {
    const text = renderJobScript({ ...base, description: "cell\n#SBATCH --exclusive\nrm -rf ~" });
    expect(text).not.toMatch(/^#SBATCH --exclusive$/m);
    expect(text).not.toMatch(/^rm -rf ~$/m);
  });
});
