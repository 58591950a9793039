/** The configuration file: defaults with no file (local backend), YAML and schema errors that point at the problem. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, parseConfig } from "../../../src/config/config";
import { expandPath } from "../../../src/config/paths";

let dir: string;
const saved = { ...process.env };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-config-"));
  process.env.ALPINE_KERNEL_DATA_DIR = join(dir, "data");
});
afterAll(() => {
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe("defaults", () => {
  test("no configuration file: the local backend, sessions under the data directory", () => {
    const cfg = loadConfig(join(dir, "does-not-exist.yaml"));
    expect(cfg.backend).toBe("local");
    expect(cfg.work_dir).toBe(join(dir, "data", "sessions"));
    // No python: the session picks one (the Python Jupyter runs in, or python3).
    expect(cfg.environment).toEqual({
      modules: [],
      setup: [],
      umask: "077",
      build_partition: "acompile",
      build_time: "2:00:00",
    });
    expect(cfg.server).toEqual({
      idle_timeout_seconds: 1800,
      log_level: "info",
      allow_origins: [],
      max_cell_code_mib: 4,
      allow_hosts: [],
      max_cell_output_mb: 100,
    });
    expect(cfg.source).toMatch(/no configuration file/);
  });

  test.each([
    ["umask: 007", "007"],
    ["umask: '027'", "027"],
    ["umask: 77", "077"],
  ])("environment.%s (quoted or not) is the umask %s", (line, umask) => {
    expect(parseConfig(`environment:\n  ${line}\n`, "cfg.yaml").environment.umask).toBe(umask);
  });

  test.each(["", "# only a comment\n", "---\n"])("an empty file %j means all defaults", (text) => {
    const cfg = parseConfig(text, "c.yaml");
    expect(cfg).toMatchObject({ backend: "local", environment: { modules: [] } });
    expect(cfg.environment.python).toBeUndefined();
    expect(cfg.profile).toBeUndefined();
  });

  test("a file that exists but cannot be read is an error naming it", () => {
    expect(() => loadConfig(dir)).toThrow(ConfigError);
    expect(() => loadConfig(dir)).toThrow(`cannot read configuration ${dir}`);
  });

  test("loadConfig reads the file it is given", () => {
    const p = join(dir, "config.yaml");
    writeFileSync(p, "backend: slurm\nserver:\n  idle_timeout_seconds: 5\n");
    expect(loadConfig(p)).toMatchObject({ backend: "slurm", source: p, server: { idle_timeout_seconds: 5 } });
  });
});

describe("YAML errors name the line", () => {
  const cases: [string, number, string][] = [
    [
      "unclosed flow sequence (found where the file ends)",
      4,
      "backend: local\nenvironment:\n  modules: [miniforge\n",
    ],
    ["tab indentation", 3, "backend: local\nserver:\n\tidle_timeout_seconds: 3\n"],
    ["bad indentation", 3, "environment:\n  python: python3\n modules: []\n"],
    ["duplicate key", 2, "backend: local\nbackend: slurm\n"],
  ];
  test.each(cases)("%s → line %d", (_name, line, text) => {
    expect(() => parseConfig(text, "/home/u/.config/alpine-kernel/config.yaml")).toThrow(ConfigError);
    expect(() => parseConfig(text, "/home/u/.config/alpine-kernel/config.yaml")).toThrow(
      new RegExp(`^/home/u/\\.config/alpine-kernel/config\\.yaml is not valid YAML at line ${line}: `),
    );
  });
});

test("where a notebook's cells run over SSH, and the status line, have defaults", () => {
  const cfg = parseConfig("backend: slurm\n", "c.yaml");
  expect(cfg.cluster.notebook_dir).toBe("{work_dir}/notebooks/{notebook}");
  expect(cfg.slurm.status_line).toBe(true);
  expect(parseConfig('cluster:\n  notebook_dir: "~/nb/{notebook}"\n', "c.yaml").cluster.notebook_dir).toBe(
    "~/nb/{notebook}",
  );
});

describe("schema errors name the key", () => {
  const cases: [string, string, RegExp][] = [
    ["unknown backend", "backend: pbs\n", /- backend: .*"local"|- backend: .*local/],
    ["unknown top-level key", "bakend: local\n", /\(top level\): .*bakend/],
    ["unknown nested key", "server:\n  idle_timeout: 5\n", /- server: .*idle_timeout/],
    ["negative idle timeout", "server:\n  idle_timeout_seconds: -1\n", /- server\.idle_timeout_seconds: /],
    [
      "idle timeout as text",
      "server:\n  idle_timeout_seconds: soon\n",
      /- server\.idle_timeout_seconds: .*number/,
    ],
    [
      "module with a space",
      "environment:\n  modules: ['miniforge; rm -rf ~']\n",
      /- environment\.modules\.0: may contain only letters/,
    ],
    [
      "conda_env with a quote",
      'environment:\n  conda_env: "my\'env"\n',
      /- environment\.conda_env: may contain only letters/,
    ],
    ["empty python", "environment:\n  python: ''\n", /- environment\.python: /],
    ["log level", "server:\n  log_level: verbose\n", /- server\.log_level: /],
    [
      "a umask that is not octal",
      "environment:\n  umask: 089\n",
      /- environment\.umask: is three octal digits/,
    ],
    ["a umask with a command", "environment:\n  umask: '077; id'\n", /- environment\.umask: is three octal/],
    ["a list at the top", "- a\n- b\n", /\(top level\): /],
    [
      "an unknown placeholder in notebook_dir",
      'cluster:\n  notebook_dir: "{work_dir}/{name}"\n',
      /- cluster\.notebook_dir: may use only the placeholders \{work_dir\} and \{notebook\}/,
    ],
    ["status_line as text", "slurm:\n  status_line: sometimes\n", /- slurm\.status_line: /],
  ];
  test.each(cases)("%s", (_name, text, message) => {
    let caught: unknown;
    try {
      parseConfig(text, "cfg.yaml");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const m = (caught as ConfigError).message;
    expect(m).toMatch(/^invalid configuration in cfg\.yaml:\n/);
    expect(m).toMatch(message);
    expect(m).toMatch(/remove it to use the local backend/);
    expect((caught as ConfigError).code).toBe("CONFIG");
  });
});

describe("$USER and ~ expansion (expandPath: the caller decides on which machine's environment)", () => {
  const vars = { HOME: "/home/ralphie", USER: "ralphie", SCRATCH: "/scratch/alpine" };
  test.each([
    ["~", "/home/ralphie"],
    ["~/ak", "/home/ralphie/ak"],
    ["/scratch/alpine/$USER/ak", "/scratch/alpine/ralphie/ak"],
    ["${SCRATCH}/${USER}", "/scratch/alpine/ralphie"],
    ["$UNSET_VARIABLE/x", "/x"],
    ["/plain/path", "/plain/path"],
    ["a~/not-home", "a~/not-home"],
  ])("%s → %s", (input, expected) => {
    expect(expandPath(input, vars)).toBe(expected);
  });
});
