/**
 * The job scripts renderJobScript writes, run by real bash: every golden script parses, odd paths
 * and arguments arrive intact (nothing in them is run by the shell), and a failing setup step exits
 * with the marker naming it.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SETUP_FAILED_EXIT, SETUP_FAILED_MARKER, renderJobScript } from "../../../src/jobs/job-script";
import { GOLDEN, base, cases } from "../../fixtures/job-scripts/cases";

test("every golden script is valid bash (bash -n)", () => {
  for (const name of Object.keys(cases)) {
    execFileSync("bash", ["-n", join(GOLDEN, `${name}.sh`)]);
  }
});

describe("quoting, checked by running the script with bash", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "ak-jobscript-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fake "python" that prints its cwd and argv as JSON, so we see what the script really passed. */
  function fakePython(name: string): string {
    const p = join(dir, name);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(
      p,
      `#!/usr/bin/python3\nimport json, os, sys\nprint(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:]}))\n`,
    );
    chmodSync(p, 0o755);
    return p;
  }

  test.each([
    ["spaces", "work dir/with spaces"],
    ["quotes", `it's "quoted"`],
    ["shell syntax", "$HOME `id` $(touch pwned) ; & | > <"],
    ["unicode", "données ✓ 日本"],
    ["a newline", "two\nlines"],
    ["a leading dash", "-rf"],
  ])("odd work dir and arguments arrive intact: %s", (_name, odd) => {
    const workDir = join(dir, odd);
    mkdirSync(workDir, { recursive: true });
    const python = fakePython(join(`py ${odd.replace(/\n/g, "")}`, "python3"));
    const args = ["--code", join(workDir, "cell.py"), "--events", `${odd}.jsonl`, "", "--flag=$X"];
    const script = renderJobScript({
      ...base,
      workDir,
      runnerPath: join(dir, "runner's.py"),
      runnerArgs: args,
      environment: { ...base.environment, python },
    });
    const file = join(dir, "job.sh");
    writeFileSync(file, script);
    const out = JSON.parse(
      execFileSync("bash", [file], { cwd: dir, encoding: "utf8", env: { ...process.env, X: "expanded" } }),
    ) as {
      cwd: string;
      argv: string[];
    };
    expect(out.cwd).toBe(workDir);
    expect(out.argv).toEqual(["-u", join(dir, "runner's.py"), ...args]);
    expect(existsSync(join(dir, "pwned")) || existsSync(join(workDir, "pwned"))).toBe(false);
  });

  test("a failing setup step exits 97 with the marker naming the step", () => {
    const script = renderJobScript({ ...base, workDir: join(dir, "does not exist") });
    const file = join(dir, "bad.sh");
    writeFileSync(file, script);
    let status = 0;
    let stderr = "";
    try {
      execFileSync("bash", [file], { stdio: "pipe" });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(SETUP_FAILED_EXIT);
    expect(stderr).toContain(`${SETUP_FAILED_MARKER} cd ${join(dir, "does not exist")}`);
  });
});
