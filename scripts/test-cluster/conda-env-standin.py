#!/usr/bin/python3
"""The test cluster's stand-in for `conda env create|update|remove` (called by the `conda` shell
function of the miniforge modulefile). A test double of conda's command line, not of alpine-kernel:
it really builds the environment an environment.yml describes, as a Python venv (conda itself is
not installable here), and speaks conda's words.

  conda env create [-f FILE] [-n NAME | -p PREFIX] [-y|--yes|--force] [-q]
  conda env update [-f FILE] [-n NAME | -p PREFIX] [--prune] [-q]
  conda env remove (-n NAME | -p PREFIX) [-y]

- The file is read as conda reads it: `name`, `channels` (shown, not used), `dependencies`: conda
  specs (`numpy`, `numpy=1.26`, `python>=3.8`, `conda-forge::dill`) and a `pip:` list.
- `python` must be satisfiable by this machine's /usr/bin/python3 (else PackagesNotFoundError, as
  conda says for a version no channel has); the other packages are installed with pip from the
  machine's local wheel mirror into a venv WITHOUT the system's site-packages, so the environment
  holds what its file lists and nothing else. A package the mirror lacks fails the build.
- `-n NAME` puts the environment in the first writable directory of CONDA_ENVS_PATH (as conda's
  envs_dirs); an existing one is refused by `create` unless --yes/--force, and rebuilt in place by
  `update`. A failed build leaves nothing behind, nor does one stopped by SIGTERM (scancel: conda
  rolls its transaction back); a directory left by a build killed outright is not an environment
  and is replaced by the next create.
"""
import os
import re
import shutil
import signal
import subprocess
import sys

INDEX = os.environ.get("CONDA_STANDIN_INDEX", "file:///opt/pypi/simple")
SYSTEM_PYTHON = "/usr/bin/python3"


def die(message, code=1):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_args(argv):
    if not argv or argv[0] not in ("create", "update", "remove"):
        die("usage: conda env {create,update,remove} ...", 2)
    opts = {"cmd": argv[0], "file": None, "name": None, "prefix": None, "yes": False, "prune": False}
    rest = argv[1:]
    i = 0
    while i < len(rest):
        a = rest[i]
        takes = {"-f": "file", "--file": "file", "-n": "name", "--name": "name", "-p": "prefix", "--prefix": "prefix"}
        if a in takes:
            if i + 1 >= len(rest):
                die("conda env %s: error: argument %s: expected one argument" % (opts["cmd"], a), 2)
            opts[takes[a]] = rest[i + 1]
            i += 2
            continue
        m = re.match(r"^(--file|--name|--prefix)=(.*)$", a)
        if m:
            opts[takes[m.group(1)]] = m.group(2)
        elif a in ("-y", "--yes", "--force"):
            opts["yes"] = True
        elif a == "--prune":
            opts["prune"] = True
        elif a in ("-q", "--quiet", "--json", "--no-default-packages"):
            pass
        else:
            die("conda env %s: error: unrecognized arguments: %s" % (opts["cmd"], a), 2)
        i += 1
    return opts


def read_file(path):
    try:
        import yaml
    except ImportError:
        die("conda stand-in: python3-yaml is missing (scripts/test-cluster/up.sh installs it)")
    if not os.path.exists(path):
        die("EnvironmentFileNotFound: '%s' file not found" % os.path.abspath(path))
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as err:
        die("CondaValueError: invalid YAML in %s: %s" % (path, str(err).splitlines()[0]))
    if not isinstance(data, dict):
        die("CondaValueError: %s is not an environment file (a mapping with name and dependencies)" % path)
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        die("CondaValueError: 'dependencies' in %s must be a list" % path)
    return data, deps


def envs_dirs():
    dirs = [d for d in os.environ.get("CONDA_ENVS_PATH", "").split(":") if d]
    return dirs or [os.path.expanduser("~/.conda/envs")]


def find_env(name):
    for d in envs_dirs():
        p = os.path.join(d, name)
        if os.path.isfile(os.path.join(p, "bin", "activate")):
            return p
    return None


def writable_envs_dir():
    for d in envs_dirs():
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            continue
        if os.access(d, os.W_OK):
            return d
    die("NotWritableError: none of the environment directories is writable: %s" % ", ".join(envs_dirs()))


def spec_parts(spec):
    """`conda-forge::numpy>=1.2` -> ('numpy', '>=1.2'); `numpy 1.26` -> ('numpy', '=1.26')."""
    spec = spec.split("::")[-1].strip()
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    if not m:
        die("InvalidMatchSpec: Invalid spec '%s'" % spec)
    name, version = m.group(1), m.group(2).strip()
    if version and version[0] not in "=<>!~":
        version = "=" + version
    return name, version


def pip_requirement(name, version):
    if version.startswith("=") and not version.startswith("=="):
        v = version[1:]
        return "%s==%s" % (name, v if v.endswith("*") else v + ".*")
    return name + version


def python_ok(version):
    """Does /usr/bin/python3 satisfy a conda python spec like `=3.11`, `>=3.8`, `3.11.*`?"""
    have = tuple(int(x) for x in subprocess.check_output(
        [SYSTEM_PYTHON, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], text=True).split("."))
    for clause in filter(None, version.split(",")):
        m = re.match(r"^(==|=|>=|<=|>|<|!=)?\s*([\d.]+)(\.\*)?$", clause.strip())
        if not m:
            return False
        op, want = m.group(1) or "=", tuple(int(x) for x in m.group(2).split("."))
        cut = have[: len(want)]
        if op in ("=", "==") and cut != want:
            return False
        if op == ">=" and have < want or op == ">" and have <= want:
            return False
        if op == "<=" and cut > want or op == "<" and have >= want:
            return False
        if op == "!=" and cut == want:
            return False
    return True


def solve(deps):
    """conda specs and the pip list -> pip requirements; refuses a Python this machine lacks."""
    reqs, missing = [], []
    for d in deps:
        if isinstance(d, dict) and "pip" in d:
            reqs.extend(str(x) for x in d["pip"] or [])
            continue
        if not isinstance(d, str):
            die("CondaValueError: a dependency must be a string or a pip: list, not %r" % (d,))
        name, version = spec_parts(d)
        if name == "python":
            if version and not python_ok(version.lstrip("=") if version.startswith("==") else version):
                missing.append(d)
        elif name != "pip":
            reqs.append(pip_requirement(name, version))
    if missing:
        say("failed")
        die("PackagesNotFoundError: The following packages are not available from current channels:\n\n"
            + "".join("  - %s\n" % m for m in missing))
    return reqs


def pip_install(prefix, reqs):
    if not reqs:
        return
    say("Installing pip dependencies: ...working...")
    cmd = [os.path.join(prefix, "bin", "python"), "-m", "pip", "install", "--index-url", INDEX,
           "--disable-pip-version-check", "--no-input", "--progress-bar", "off"] + reqs
    rc = subprocess.call(cmd, stdout=sys.stdout, stderr=sys.stderr)
    if rc != 0:
        die("Pip subprocess error: pip install exited with %d\nCondaEnvException: Pip failed" % rc)
    say("done")


def build(opts):
    path = opts["file"] or "environment.yml"
    data, deps = read_file(path)
    name = opts["name"] or data.get("name")
    if opts["prefix"]:
        prefix = os.path.abspath(opts["prefix"])
    elif name:
        prefix = find_env(name) or os.path.join(writable_envs_dir(), name)
    else:
        die("CondaValueError: no environment name: give -n NAME or a name: in %s" % path)
    exists = os.path.isfile(os.path.join(prefix, "bin", "activate"))
    if opts["cmd"] == "create" and exists and not opts["yes"]:
        die("CondaValueError: prefix already exists: %s" % prefix)
    if opts["cmd"] == "update" and not exists:
        die("EnvironmentLocationNotFound: Not a conda environment: %s" % prefix)
    say("Channels:")
    for c in data.get("channels") or ["defaults"]:
        say(" - %s" % c)
    say("Platform: linux-64")
    say("Collecting package metadata (repodata.json): done")
    say("Solving environment: ...working...")
    reqs = solve(deps)
    say("done")
    fresh = opts["cmd"] == "create" or opts["prune"]
    if fresh and exists:
        shutil.rmtree(prefix)
    say("Preparing transaction: done")
    say("Verifying transaction: done")
    say("Executing transaction: ...working...")
    try:
        if fresh or not exists:
            # --clear: a half-built directory (no bin/activate) from a build killed outright.
            subprocess.check_call([SYSTEM_PYTHON, "-m", "venv", "--clear", prefix], stdout=sys.stdout,
                                  stderr=sys.stderr)
        say("done")
        pip_install(prefix, reqs)
    except BaseException:
        if fresh or not exists:
            shutil.rmtree(prefix, ignore_errors=True)  # conda rolls back a failed create
        raise
    say("#\n# To activate this environment, use\n#\n#     $ conda activate %s\n#\n"
        "# To deactivate an active environment, use\n#\n#     $ conda deactivate\n" % (name or prefix))


def remove(opts):
    prefix = opts["prefix"] or (opts["name"] and find_env(opts["name"]))
    if not prefix or not os.path.isfile(os.path.join(prefix, "bin", "activate")):
        die("EnvironmentLocationNotFound: Not a conda environment: %s" % (opts["prefix"] or opts["name"]))
    say("Remove all packages in environment %s:" % prefix)
    shutil.rmtree(prefix)
    say("Everything found within the environment (%s), including any conda environment configurations and any non-conda files, will be deleted." % prefix)


def stopped(signum, _frame):
    raise KeyboardInterrupt  # unwinds through build()'s rollback


def main():
    signal.signal(signal.SIGTERM, stopped)
    opts = parse_args(sys.argv[1:])
    try:
        (remove if opts["cmd"] == "remove" else build)(opts)
    except subprocess.CalledProcessError as err:
        die("CondaError: %s failed with exit status %d" % (err.cmd[0], err.returncode))
    except KeyboardInterrupt:
        die("CondaError: KeyboardInterrupt", 130)


if __name__ == "__main__":
    main()
