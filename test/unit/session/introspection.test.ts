/** complete_request and inspect_request: magics, %%slurm options, and the names earlier cells left. */
import { complete, inspect } from "../../../src/session/introspection";

const names = new Map([
  ["my_frame", "DataFrame"],
  ["my_count", "int"],
  ["result", "list"],
]);

describe("complete", () => {
  const cases: [string, string, number | undefined, string[], number][] = [
    ["a line magic", "%sq", undefined, ["%squeue"], 0],
    ["line and cell magics", "%sl", undefined, ["%slurm"], 0],
    ["a cell magic", "%%sl", undefined, ["%%slurm"], 0],
    ["sbatch options after %%slurm", "%%slurm --ti", undefined, ["--time"], 8],
    ["options by prefix", "%%slurm --time 1:00 --mem", undefined, ["--mem", "--mem-per-cpu"], 20],
    [
      "short options too",
      "%slurm -p acpu -",
      undefined,
      expect.arrayContaining(["-p", "--partition", "--detach", "--profile"]) as unknown as string[],
      15,
    ],
    ["names from the namespace", "x = my_", undefined, ["my_count", "my_frame"], 4],
    ["builtins and keywords", "pri", undefined, ["print"], 0],
    ["mid-line cursor", "print(res)\n", 9, ["result"], 6],
    ["second line", "import os\nre", undefined, ["repr", "result", "return", "reversed"], 10],
    ["empty token offers only namespace names", "", undefined, ["my_count", "my_frame", "result"], 0],
    ["attributes are not guessed", "my_frame.hea", undefined, [], 0],
  ];
  test.each(cases)("%s: %j", (_name, code, cursor, matches, start) => {
    const pos = cursor ?? code.length;
    const r = complete(code, pos, names);
    expect(r).toEqual({ status: "ok", matches, cursor_start: start, cursor_end: pos, metadata: {} });
  });
});

describe("inspect", () => {
  test.each(["%%slurm", "%slurm", "%squeue", "%scancel", "%sacct"])(
    "%s shows its usage and help",
    (magic) => {
      const r = inspect(magic, 2, names);
      expect(r.status).toBe("ok");
      expect(r).toMatchObject({ found: true });
      expect(String((r as { data: Record<string, string> }).data["text/plain"])).toMatch(/usage|^%/i);
    },
  );

  test("%%slurm help lists sbatch options in sbatch's spellings", () => {
    const r = inspect("%%slurm --time 1:00\nx = 1", 3, names) as { data: Record<string, string> };
    expect(r.data["text/plain"]).toContain("--partition");
    expect(r.data["text/plain"]).toContain("--detach");
  });

  test("a cursor anywhere on a %%slurm line finds the magic", () => {
    expect(inspect("%%slurm --time 1:00", 17, names)).toMatchObject({ found: true });
  });

  test("a namespace name shows its type", () => {
    const r = inspect("my_frame.head()", 4, names) as { data: Record<string, string> };
    expect(r).toMatchObject({ status: "ok", found: true });
    expect(r.data["text/plain"]).toMatch(/^my_frame: DataFrame/);
  });

  test.each([
    ["unknown name", "nothing_here", 3],
    ["empty code", "", 0],
    ["operator", "a + b", 2],
  ])("%s: not found, still ok", (_name, code, cursor) => {
    expect(inspect(code, cursor, names)).toEqual({ status: "ok", found: false, data: {}, metadata: {} });
  });
});
