/**
 * `alpine-kernel install / list / uninstall` put the kernelspec where Debian's Jupyter finds it
 * (`jupyter kernelspec list` is the judge), honouring JUPYTER_DATA_DIR and --prefix; the JupyterLab
 * extension goes beside it (JupyterLab 4.6.4's `jupyter labextension list` is the judge).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, isolatedEnv, requireBuilt, requireProgram, type IsolatedEnv } from "../helpers/env";
import { jupyterLabVenv } from "../helpers/jupyterlab";

describe("kernelspec install, list, uninstall", () => {
  let iso: IsolatedEnv;
  beforeAll(() => {
    requireBuilt();
    requireProgram("/usr/bin/jupyter", "Debian's jupyter-client package");
    iso = isolatedEnv();
  });
  afterAll(() => iso.cleanup());

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { env: iso.env, encoding: "utf8" });
  const jupyterSpecs = (extraEnv: NodeJS.ProcessEnv = {}) =>
    (
      JSON.parse(
        execFileSync("/usr/bin/jupyter", ["kernelspec", "list", "--json"], {
          env: { ...iso.env, ...extraEnv },
          encoding: "utf8",
        }),
      ) as {
        kernelspecs: Record<
          string,
          { resource_dir: string; spec: { display_name: string; argv: string[]; interrupt_mode: string } }
        >;
      }
    ).kernelspecs;

  test("--user installs into JUPYTER_DATA_DIR, with logos, and Jupyter lists 'Python (Alpine)'", () => {
    const r = cli("install", "--user");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(join(iso.env.JUPYTER_DATA_DIR!, "kernels", "alpine"));
    const spec = jupyterSpecs().alpine!;
    expect(spec.spec.display_name).toBe("Python (Alpine)");
    expect(spec.spec.interrupt_mode).toBe("message");
    expect(spec.spec.argv.slice(-4)).toEqual([CLI, "kernel", "-f", "{connection_file}"]);
    expect(existsSync(join(spec.resource_dir, "logo-64x64.png"))).toBe(true);
    expect(readFileSync(join(spec.resource_dir, "logo-32x32.png")).subarray(1, 4).toString()).toBe("PNG");
  });

  test("--prefix and --name/--display-name; list shows every installation", () => {
    const prefix = join(iso.dir, "prefix");
    expect(
      cli("install", "--prefix", prefix, "--name", "alpine-gpu", "--display-name", "Python (Alpine GPU)")
        .status,
    ).toBe(0);
    const specs = jupyterSpecs({ JUPYTER_PATH: join(prefix, "share", "jupyter") });
    expect(specs["alpine-gpu"]!.spec.display_name).toBe("Python (Alpine GPU)");
    const listed = spawnSync(process.execPath, [CLI, "list"], {
      env: { ...iso.env, JUPYTER_PATH: join(prefix, "share", "jupyter") },
      encoding: "utf8",
    }).stdout;
    expect(listed).toMatch(/alpine\s+Python \(Alpine\)/);
    expect(listed).toMatch(/alpine-gpu\s+Python \(Alpine GPU\)/);
  });

  test("uninstall removes it; a second uninstall and a bad name are refused with a clear message", () => {
    expect(cli("uninstall", "--user").status).toBe(0);
    expect(jupyterSpecs().alpine).toBeUndefined();
    const again = cli("uninstall", "--user");
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/no kernelspec 'alpine' in /);
    const bad = cli("install", "--user", "--name", "../evil");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/kernel name "..\/evil" may contain only/);
  });
});

describe("the JupyterLab extension goes where the kernelspec goes", () => {
  let iso: IsolatedEnv;
  let venv: string;
  beforeAll(() => {
    requireBuilt();
    venv = jupyterLabVenv();
    iso = isolatedEnv();
  }, 600_000);
  afterAll(() => iso.cleanup());

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { env: iso.env, encoding: "utf8" });
  /** JupyterLab 4.6.4's own view: `jupyter labextension list`. */
  const labextensions = () => {
    const r = spawnSync(join(venv, "bin", "jupyter"), ["labextension", "list"], {
      env: iso.env,
      encoding: "utf8",
    });
    // eslint-disable-next-line no-control-regex -- its colours
    return `${r.stdout}${r.stderr}`.replace(/\u001b\[[0-9;]*m/g, "");
  };
  const dir = () => join(iso.env.JUPYTER_DATA_DIR!, "labextensions", "@alpine-kernel", "jupyterlab-jobs");

  test("install: JupyterLab lists it enabled; --no-labextension leaves it out", () => {
    const skip = cli("install", "--user", "--name", "alpine-plain", "--no-labextension");
    expect(skip.status).toBe(0);
    expect(existsSync(dir())).toBe(false);
    const r = cli("install", "--user");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Installed the JupyterLab extension (Alpine jobs panel) in ${dir()}`);
    expect(labextensions()).toMatch(/@alpine-kernel\/jupyterlab-jobs v0\.1\.0 enabled\s+OK/);
    expect(existsSync(join(dir(), "schemas", "@alpine-kernel", "jupyterlab-jobs", "plugin.json"))).toBe(true);
  });

  test("uninstall keeps it while another alpine kernelspec is installed there, then removes it", () => {
    expect(cli("uninstall", "--user").status).toBe(0);
    expect(existsSync(dir())).toBe(true); // alpine-plain still uses it
    const last = cli("uninstall", "--user", "--name", "alpine-plain");
    expect(last.status).toBe(0);
    expect(last.stdout).toContain(`Removed the JupyterLab extension ${dir()}`);
    expect(existsSync(dir())).toBe(false);
    expect(labextensions()).not.toContain("@alpine-kernel/jupyterlab-jobs");
  });
});
