/**
 * Which Python runs the cells, said where a user looks, and a kernel per resource profile — through
 * Jupyter's own client (Debian's jupyter_client) launching the installed kernelspecs:
 * - local backend, nothing configured: cells run in the Python Jupyter runs in, even when another
 *   python3 (a venv without pandas) comes first on the PATH; the notebook and kernel_info say so;
 * - `alpine-kernel install --profile gpu`: "Python (Alpine · GPU)", whose cells land on aa100, the
 *   first status line naming the conda environment's Python.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { DEBIAN_PYTHON, isolatedEnv, runPython, CLI, type IsolatedEnv } from "../helpers/env";
import { requireCluster, slurmConfig, type ClusterEnv } from "../helpers/slurm";

interface Session {
  kernel_info: { banner: string; language_info: { version: string } };
  kernel_info_after: { banner: string; language_info: { version: string } };
  cells: { reply: { status: string }; iopub: [number, string, Record<string, unknown>][] }[];
}

function session(
  iso: IsolatedEnv,
  kernel: string,
  cells: string[],
  env: NodeJS.ProcessEnv = iso.env,
): Session {
  return JSON.parse(
    runPython(
      "jupyter_client_session.py",
      [JSON.stringify(cells)],
      { ...env, AK_KERNEL_NAME: kernel },
      180_000,
    ),
  ) as Session;
}

const stdout = (cell: Session["cells"][number]) =>
  cell.iopub
    .filter(([, t, c]) => t === "stream" && c.name === "stdout")
    .map(([, , c]) => String(c.text))
    .join("");
const displays = (cell: Session["cells"][number]) =>
  cell.iopub
    .filter(([, t]) => t === "display_data" || t === "update_display_data")
    .map(([, , c]) => String((c.data as Record<string, string>)["text/plain"]));

describe("local backend: the Python Jupyter runs in", () => {
  let iso: IsolatedEnv;
  let venv: string;
  beforeAll(() => {
    iso = isolatedEnv(); // no configuration: the local backend
    execFileSync(process.execPath, [CLI, "install", "--user"], { env: iso.env });
    venv = join(iso.dir, "venv-without-pandas");
    execFileSync(DEBIAN_PYTHON, ["-m", "venv", "--without-pip", venv]);
  });
  afterAll(() => iso?.cleanup());

  test("another python3 first on the PATH is not used; the first cell and kernel_info say which Python runs", () => {
    const env = { ...iso.env, PATH: `${join(venv, "bin")}:${process.env.PATH}` };
    // The venv's python3 is what a bare `python3` would find.
    expect(execFileSync("sh", ["-c", "command -v python3"], { env, encoding: "utf8" }).trim()).toBe(
      join(venv, "bin", "python3"),
    );
    const s = session(iso, "alpine", ["import sys, pandas\nprint(sys.executable)", "print('second')"], env);
    expect(s.cells.map((c) => c.reply.status)).toEqual(["ok", "ok"]);
    expect(stdout(s.cells[0]!).trim()).toBe(DEBIAN_PYTHON);
    const note =
      /^cells run Python (3\.\d+\.\d+) · \/usr\/bin\/python3 \(the Python Jupyter runs in; set environment\.python to choose another\)$/;
    expect(displays(s.cells[0]!)).toEqual([expect.stringMatching(note)]);
    expect(displays(s.cells[1]!)).toEqual([]); // said once per session
    const version = note.exec(displays(s.cells[0]!)[0]!)![1]!;
    expect(s.kernel_info_after.language_info.version).toBe(version);
    expect(s.kernel_info_after.banner).toContain(
      `cells run Python ${version} · ${DEBIAN_PYTHON} (the Python Jupyter runs in`,
    );
  }, 200_000);

  test("environment.python configured: that one, and it says so", () => {
    iso.writeConfig(`environment:\n  python: ${join(venv, "bin", "python3")}\n`);
    execFileSync(process.execPath, [CLI, "stop"], { env: iso.env, stdio: "ignore" });
    const s = session(iso, "alpine", ["import sys\nprint(sys.executable)"]);
    expect(stdout(s.cells[0]!).trim()).toBe(join(venv, "bin", "python3"));
    expect(displays(s.cells[0]!)[0]).toMatch(
      / · .*venv-without-pandas\/bin\/python3 \(environment\.python\)$/,
    );
  }, 200_000);
});

describe("a kernel per resource profile: Python (Alpine · GPU)", () => {
  let cluster: ClusterEnv;
  let iso: IsolatedEnv;
  beforeAll(() => {
    cluster = requireCluster();
    iso = isolatedEnv(
      slurmConfig(
        cluster,
        `${cluster.ALPINE_TEST_SCRATCH_ROOT ?? "/scratch/alpine"}/root/ak-test-profile-${process.pid}`,
      ),
    );
  });
  afterAll(() => iso?.cleanup());

  test("install --profile gpu: its own kernelspec, seen by Jupyter; an unknown profile is refused", () => {
    const out = execFileSync(process.execPath, [CLI, "install", "--user", "--profile", "gpu"], {
      env: iso.env,
      encoding: "utf8",
    });
    expect(out).toContain(
      `Installed kernelspec 'alpine-gpu' ("Python (Alpine · GPU)") in ${join(iso.env.JUPYTER_DATA_DIR!, "kernels", "alpine-gpu")}`,
    );
    const specs = JSON.parse(
      execFileSync(DEBIAN_PYTHON, ["-m", "jupyter_client.kernelspecapp", "list", "--json"], {
        env: iso.env,
        encoding: "utf8",
      }),
    ) as { kernelspecs: Record<string, { spec: { display_name: string; argv: string[] } }> };
    expect(specs.kernelspecs["alpine-gpu"]?.spec.display_name).toBe("Python (Alpine · GPU)");
    expect(specs.kernelspecs["alpine-gpu"]?.spec.argv.slice(-2)).toEqual(["--profile", "gpu"]);
    expect(execFileSync(process.execPath, [CLI, "list"], { env: iso.env, encoding: "utf8" })).toMatch(
      /alpine-gpu .*\(--profile gpu\)/,
    );
    let refused = "";
    try {
      execFileSync(process.execPath, [CLI, "install", "--user", "--profile", "gpux"], {
        env: iso.env,
        stdio: "pipe",
      });
    } catch (err) {
      refused = String((err as { stderr: Buffer }).stderr);
    }
    expect(refused).toContain("no resource profile 'gpux' in your configuration (profiles: gpu)");
  });

  test("its cells land on aa100 with a GPU; the first status line names the environment's Python", () => {
    const s = session(iso, "alpine-gpu", [
      "import os\nprint(os.environ['SLURM_JOB_PARTITION'], os.environ.get('CUDA_VISIBLE_DEVICES'))",
    ]);
    expect(s.cells[0]!.reply.status).toBe("ok");
    expect(stdout(s.cells[0]!)).toMatch(new RegExp(`^${cluster.gpuPartition} [01]\\n$`));
    const first = displays(s.cells[0]!);
    expect(first[0]).toMatch(
      /\ncells run Python 3\.\d+\.\d+ · \/opt\/alpine\/conda-envs\/alpine-kernel\/bin\/python \(conda env alpine-kernel\)$/,
    );
    expect(first[first.length - 1]).toMatch(/^✔ job \d+ completed/);
    expect(s.kernel_info_after.banner).toMatch(
      /cells run Python 3\.\d+\.\d+ · \/opt\/alpine\/conda-envs\/alpine-kernel\/bin\/python/,
    );
  }, 200_000);
});
