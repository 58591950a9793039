/**
 * renderJobScript: golden files in test/fixtures/job-scripts/ (regenerate with UPDATE_GOLDEN=1 after
 * an intended change, and review the diff), quoting checked by running the script with real bash,
 * and refusal of what cannot go on one #SBATCH line.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../../src/errors";
import {
  SETUP_FAILED_EXIT,
  SETUP_FAILED_MARKER,
  renderJobScript,
  type JobScriptInput,
} from "../../../src/jobs/job-script";

const GOLDEN = join(__dirname, "..", "..", "fixtures", "job-scripts");

const base: JobScriptInput = {
  jobName: "ak-analysis-c3",
  sbatch: [],
  stdoutPath: "/home/ralphie/.local/share/alpine-kernel/sessions/k1/cells/0003.out",
  stderrPath: "/home/ralphie/.local/share/alpine-kernel/sessions/k1/cells/0003.err",
  workDir: "/home/ralphie/notebooks",
  environment: { modules: [], setup: [], python: "python3" },
  runnerPath: "/home/ralphie/.local/share/alpine-kernel/sessions/runner/0.1.0-abc/alpine_kernel_runner.py",
  runnerArgs: [
    "--code",
    "/s/k1/cells/0003.py",
    "--events",
    "/s/k1/cells/0003.events.jsonl",
    "--execution-count",
    "3",
  ],
  description: "alpine-kernel cell 3 of analysis.ipynb (kernel k1)",
};

const cases: Record<string, JobScriptInput> = {
  "local-minimal": base,
  "alpine-full": {
    ...base,
    jobName: "ak-train_model-c12",
    stdoutPath: "/scratch/alpine/ralphie/alpine-kernel/k2/cells/0012.out",
    stderrPath: "/scratch/alpine/ralphie/alpine-kernel/k2/cells/0012.err",
    sbatch: [
      ["--partition", "aa100"],
      ["--qos", "gpu-normal"],
      ["--account", "ucb-general"],
      ["--time", "1-02:00:00"],
      ["--mem", "64G"],
      ["--gres", "gpu:a100:1"],
      ["--constraint", "ib&rome"],
      ["--exclusive"],
    ],
    environment: {
      modules: ["miniforge", "cuda/12.1.1"],
      conda_env: "/projects/ralphie/software/anaconda/envs/torch",
      setup: ["export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK", "ulimit -c 0"],
      python: "python",
    },
    workDir: "/projects/ralphie/ml",
    runnerArgs: [
      ...base.runnerArgs,
      "--allow-stdin",
      "--namespace-in",
      "/s/ns.pkl",
      "--namespace-out",
      "/s/ns.pkl",
    ],
    description: "alpine-kernel cell 12 of train model.ipynb\n(kernel k2)",
  },
  "odd-paths": {
    ...base,
    jobName: "ak-my notebook (v2)-c1",
    stdoutPath: '/tmp/dir with space/"quoted"/0001.out',
    stderrPath: "/tmp/dir with space/back\\slash/0001.err",
    sbatch: [
      ["--comment", 'it\'s $HOME `date` "quoted"'],
      ["--mail-user", "ralphie@colorado.edu"],
    ],
    environment: {
      modules: ["gcc/13.2"],
      conda_env: "my.env-2",
      setup: [],
      python: "/opt/python 3/bin/python3",
    },
    workDir: "/tmp/it's a $DIR `x` ünïcode",
    runnerArgs: ["--code", "/tmp/a b/c'd.py", "--events", "/tmp/$(touch pwned).jsonl"],
  },
};

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

  test("every golden script is valid bash (bash -n)", () => {
    for (const name of Object.keys(cases)) {
      execFileSync("bash", ["-n", join(GOLDEN, `${name}.sh`)]);
    }
  });
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
    ["a short option", { sbatch: [["-p", "acpu"]] }, /not an sbatch long option: "-p"/],
    ["upper case", { sbatch: [["--Partition", "acpu"]] }, /not an sbatch long option/],
    ["shell syntax in the flag", { sbatch: [["--time;rm", "1"]] }, /not an sbatch long option/],
    ["an option with its value glued on", { sbatch: [["--mem=4G"]] }, /not an sbatch long option/],
  ];
  test.each(cases)("%s", (_name, patch, message) => {
    expect(() => renderJobScript({ ...base, ...patch })).toThrow(InputError);
    expect(() => renderJobScript({ ...base, ...patch })).toThrow(message);
  });

  test("a newline in the description cannot start a new script line", () => {
    const text = renderJobScript({ ...base, description: "cell\n#SBATCH --exclusive\nrm -rf ~" });
    expect(text).not.toMatch(/^#SBATCH --exclusive$/m);
    expect(text).not.toMatch(/^rm -rf ~$/m);
  });
});
