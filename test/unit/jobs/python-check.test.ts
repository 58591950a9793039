/** Which Python runs the cells: the probe's script, what its answers mean, and the cache. */
import {
  EnvironmentError,
  probeAnswered,
  PythonCheck,
  pythonProbeScript,
  pythonTooOld,
  readProbe,
  type PythonInfo,
} from "../../../src/jobs/python-check";
import { SETUP_FAILED_MARKER, type EnvironmentSetup } from "../../../src/jobs/job-script";

const ENV: EnvironmentSetup = {
  modules: ["miniforge"],
  conda_env: "alpine-kernel",
  setup: [],
  python: "python",
};
const INFO: PythonInfo = {
  path: "/projects/maya/envs/alpine-kernel/bin/python",
  version: "3.11.9",
  prefix: "/projects/maya/envs/alpine-kernel",
  ipython: true,
  dill: false,
};
const answer = (info: object) => `ALPINE_KERNEL_PYTHON ${JSON.stringify(info)}\n`;

test("the probe sets the environment up as a job script does, then asks the Python", () => {
  const script = pythonProbeScript(ENV);
  expect(script).toMatch(
    /^module load miniforge \|\| \{ echo 'alpine-kernel: environment setup failed: module load miniforge'/,
  );
  expect(script).toContain("conda activate alpine-kernel ||");
  expect(script).toMatch(/\nexec python -c '/);
  expect(script).toContain("find_spec");
});

test("probeAnswered: only the probe's whole line, not a part of it still being written", () => {
  const line = answer(INFO);
  expect(probeAnswered(`conda says done\n${line}`)).toBe(true);
  expect(probeAnswered(`conda says done\n${line.slice(0, 30)}`)).toBe(false);
  expect(probeAnswered(line.trimEnd())).toBe(false);
  expect(probeAnswered("Installing pip dependencies\n")).toBe(false);
  expect(probeAnswered(`echo ${line}`)).toBe(false);
});

describe("readProbe", () => {
  test("a good answer (after a login banner on stdout)", () => {
    expect(readProbe(ENV, { stdout: `Welcome to Alpine\n${answer(INFO)}`, stderr: "", code: 0 })).toEqual(
      INFO,
    );
  });

  test("a conda environment that is not there: what to run", () => {
    const stderr = [
      "EnvironmentNameNotFound: Could not find conda environment: alpine-kernel",
      `${SETUP_FAILED_MARKER} conda activate alpine-kernel`,
    ].join("\n");
    const err = (() => {
      try {
        readProbe(ENV, { stdout: "", stderr, code: 97 });
      } catch (e) {
        return e as EnvironmentError;
      }
    })();
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err?.code).toBe("ENVIRONMENT_MISSING");
    expect(err?.message).toMatch(
      /^the conda environment 'alpine-kernel' is not on the cluster \(EnvironmentNameNotFound: Could not find conda environment: alpine-kernel\): create it with `alpine-kernel env create --name alpine-kernel`/,
    );
    expect(err?.message).toContain("`alpine-kernel env list`");
  });

  test("a module that does not load", () => {
    expect(() =>
      readProbe(ENV, {
        stdout: "",
        stderr: `Lmod has detected the following error: unknown module minforge\n${SETUP_FAILED_MARKER} module load minforge`,
        code: 97,
      }),
    ).toThrow(
      /'module load minforge' failed on the cluster \(Lmod has detected .*\): check environment\.modules/,
    );
  });

  test("no such Python", () => {
    expect(() =>
      readProbe(
        { ...ENV, python: "python3.12" },
        { stdout: "", stderr: "bash: line 3: exec: python3.12: not found", code: 127 },
      ),
    ).toThrow(/^there is no 'python3\.12' in the cells' environment/);
  });

  test("a Python older than the runner needs", () => {
    let err: unknown;
    try {
      readProbe(ENV, { stdout: answer({ ...INFO, version: "3.6.8" }), stderr: "", code: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "PYTHON_TOO_OLD" });
    expect((err as Error).message).toMatch(
      /version 3\.6\.8; the cell runner needs 3\.8 or newer\. Rebuild the environment with python>=3\.8 in environment\.yml: `alpine-kernel env update --name alpine-kernel --file environment\.yml`/,
    );
  });

  test("an answer that is not JSON, or none at all", () => {
    expect(() => readProbe(ENV, { stdout: "ALPINE_KERNEL_PYTHON {nope", stderr: "", code: 0 })).toThrow(
      EnvironmentError,
    );
    expect(() => readProbe(ENV, { stdout: "", stderr: "Segmentation fault", code: 139 })).toThrow(
      /could not be asked about itself \(exit 139\) \(Segmentation fault\)/,
    );
  });

  test.each([
    ["2.7.18", true],
    ["3.7.17", true],
    ["3.8.0", false],
    ["3.13.1", false],
    ["4.0", false],
  ])("Python %s too old: %s", (v, old) => expect(pythonTooOld(v)).toBe(old));
});

describe("PythonCheck", () => {
  test("asks once per environment at a time and keeps good answers", async () => {
    let asked = 0;
    const check = new PythonCheck(async () => {
      asked++;
      await new Promise((r) => setTimeout(r, 5));
      return INFO;
    });
    expect(check.peek(ENV)).toBeUndefined();
    const [a, b] = await Promise.all([check.check(ENV), check.check(ENV)]);
    expect(a).toBe(INFO);
    expect(b).toBe(INFO);
    await check.check(ENV);
    expect(asked).toBe(1);
    expect(check.peek(ENV)).toBe(INFO);
    await check.check({ ...ENV, conda_env: "other" });
    expect(asked).toBe(2);
  });

  test("a failure is not kept: the next cell asks again (the user may have fixed it)", async () => {
    let fail = true;
    const check = new PythonCheck(async () => {
      if (fail) throw new EnvironmentError("ENVIRONMENT_MISSING", "no env");
      return INFO;
    });
    await expect(check.check(ENV)).rejects.toThrow("no env");
    fail = false;
    await expect(check.check(ENV)).resolves.toBe(INFO);
  });
});
