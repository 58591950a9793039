"""Carrying the user namespace from one cell job to the next (docs/cell-runner.md).

File layout (private to the runner; the next cell's runner is the only reader):
    MAGIC, then one pickle per name, then the index (a plain pickle), then 8 bytes: the index's
    offset, then END_MAGIC.
The per-name pickles come from ONE pickler (dill if importable, else MainPickler), so objects
shared between names stay shared, exactly as if the whole dict were pickled at once; yet one name
that fails to load does not take the others down. A name that fails to save is cut off and the
names after it continue with a fresh pickler (a new "segment": references across it are copies).
Modules are recorded by name and re-imported. The file is written next to its destination and
renamed over it, so a killed job leaves the previous namespace intact.
"""
import io
import os
import pickle
import re
import struct
import sys
import time
import types

MAGIC = b"alpine-kernel namespace 1\n"
END_MAGIC = b"AKNS-END"
_TRAILER = struct.Struct("<Q8s")

# IPython's bookkeeping names; dunder names are skipped as well.
_SKIP_NAMES = frozenset(("In", "Out", "_", "__", "___", "_ih", "_oh", "_dh", "get_ipython", "exit", "quit"))
_SKIP_PATTERN = re.compile(r"^(_i{1,3}|_i\d+|_\d+)$")


def is_carried_name(name):
    if name in _SKIP_NAMES or _SKIP_PATTERN.match(name):
        return False
    return not (name.startswith("__") and name.endswith("__"))


def _reason(value, error):
    """"TypeName: message", where TypeName is the value's type (for a failed save) or the
    exception's (for a failed load). Pickling errors can quote whole reprs: kept short."""
    text = "%s: %s" % (type(value).__name__, error)
    return text if len(text) <= 300 else text[:297] + "..."


def load_dill(main_module):
    from . import dill_pickler

    return dill_pickler.use_main_module(main_module)


def _new_pickler(f, use_dill, main_module):
    if use_dill:
        load_dill(main_module)
        from .dill_pickler import RunnerDillPickler

        return RunnerDillPickler(f, protocol=pickle.HIGHEST_PROTOCOL)
    from .main_pickler import MainPickler

    return MainPickler(f, main_module.__dict__)


def save(path, ns, main_module, use_dill, excluded=()):
    """Save the carried names of ns to path; returns the `namespace` event (without "type")."""
    from . import cell_sources

    started = time.time()
    modules, values, skipped = {}, [], {}
    for name, value in list(ns.items()):
        if not is_carried_name(name) or name in excluded:
            continue
        if isinstance(value, types.ModuleType):
            if sys.modules.get(value.__name__) is value:
                modules[name] = value.__name__
            else:
                skipped[name] = "module: %s cannot be imported by name" % value.__name__
        elif isinstance(value, io.IOBase):
            skipped[name] = "%s: cannot pickle an open file; reopen it in the cell that uses it" % (
                type(value).__name__
            )
        else:
            values.append(name)

    records = []
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            segment, pickler = 0, None
            for name in values:
                if pickler is None:
                    pickler = _new_pickler(f, use_dill, main_module)
                start = f.tell()
                try:
                    pickler.dump(ns[name])
                except Exception as e:
                    f.seek(start)
                    f.truncate()
                    skipped[name] = _reason(ns[name], e)
                    segment, pickler = segment + 1, None
                    continue
                records.append((name, segment, start))
            index = {
                "pickler": "dill" if use_dill else "pickle",
                "python": list(sys.version_info[:3]),
                "modules": modules,
                "records": records,
                "cell_sources": cell_sources.collect(ns, [name for name, _segment, _start in records]),
            }
            index_offset = f.tell()
            pickle.dump(index, f, protocol=2)
            f.write(_TRAILER.pack(index_offset, END_MAGIC))
            f.flush()
            os.fsync(f.fileno())
            size = f.tell()
        os.replace(tmp, path)
    except BaseException as e:
        _remove_quietly(tmp)
        for name in values:
            skipped.setdefault(name, "namespace not saved: %s: %s" % (type(e).__name__, e))
        records, modules, size = [], {}, 0
        if not isinstance(e, Exception):
            raise
    carried = set(modules).union(name for name, _segment, _start in records)
    return {
        "saved": len(records) + len(modules),
        "names": dict((name, type(ns[name]).__name__) for name in ns if name in carried),
        "skipped": skipped,
        "bytes": size,
        "seconds": round(time.time() - started, 3),
    }


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def restore(path, ns, main_module, dill_available, shell=None):
    """Load path into ns. Returns (number restored, {name: reason} for names that could not be)."""
    problems = {}
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return 0, problems
    with f:
        try:
            index = _read_index(f)
        except Exception as e:
            return 0, {"*": "unreadable namespace file %s: %s: %s" % (path, type(e).__name__, e)}
        from . import cell_sources

        cell_sources.register(index.get("cell_sources", {}), shell)
        restored = _import_modules(index["modules"], ns, problems)
        use_dill = index["pickler"] == "dill"
        if use_dill and not dill_available:
            for name, _segment, _start in index["records"]:
                problems[name] = "saved with dill, which is not importable in this environment"
            return restored, problems
        unpickler_class = pickle.Unpickler
        unpickler, current = None, None
        for name, segment, start in index["records"]:
            if segment != current:
                if use_dill:
                    unpickler_class = load_dill(main_module).Unpickler
                unpickler, current = unpickler_class(f), segment
            f.seek(start)
            try:
                ns[name] = unpickler.load()
                restored += 1
            except Exception as e:
                problems[name] = _reason(e, e)
                # The failed record may have left bytes of its frame buffered in the unpickler;
                # go on with a fresh one that keeps the memo (later names may refer to earlier).
                fresh = unpickler_class(f)
                fresh.memo = unpickler.memo
                unpickler = fresh
    return restored, problems


def load_name(path, name, main_module, dill_available):
    """One name of a saved namespace, without restoring the others: (True, value, None) or
    (False, None, why it is not there). `%slurm gather` reads each array task's result this way.
    Names are pickled in segments with one pickler each, so the records of `name`'s segment before
    it are loaded too (they may hold objects it shares)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return False, None, "no saved namespace"
    except OSError as e:
        return False, None, "namespace unreadable: %s" % e
    with f:
        try:
            index = _read_index(f)
        except Exception as e:
            return False, None, "unreadable namespace file: %s: %s" % (type(e).__name__, e)
        if name in index["modules"]:
            try:
                import importlib

                return True, importlib.import_module(index["modules"][name]), None
            except Exception as e:
                return False, None, "import %s: %s: %s" % (index["modules"][name], type(e).__name__, e)
        wanted = [r for r in index["records"] if r[0] == name]
        if not wanted:
            return False, None, "no name %r in its namespace" % name
        segment = wanted[0][1]
        use_dill = index["pickler"] == "dill"
        if use_dill and not dill_available:
            return False, None, "saved with dill, which is not importable here"
        unpickler_class = load_dill(main_module).Unpickler if use_dill else pickle.Unpickler
        unpickler = unpickler_class(f)
        for record_name, record_segment, start in index["records"]:
            if record_segment != segment:
                continue
            f.seek(start)
            try:
                value = unpickler.load()
            except Exception as e:
                if record_name == name:
                    return False, None, _reason(e, e)
                fresh = unpickler_class(f)
                fresh.memo = unpickler.memo
                unpickler = fresh
                continue
            if record_name == name:
                return True, value, None
    return False, None, "no name %r in its namespace" % name


def _read_index(f):
    if f.read(len(MAGIC)) != MAGIC:
        raise ValueError("not an alpine-kernel namespace file")
    f.seek(-_TRAILER.size, os.SEEK_END)
    index_offset, end_magic = _TRAILER.unpack(f.read(_TRAILER.size))
    if end_magic != END_MAGIC:
        raise ValueError("truncated")
    f.seek(index_offset)
    return pickle.load(f)


def _import_modules(modules, ns, problems):
    import importlib

    count = 0
    for name, module_name in modules.items():
        try:
            ns[name] = importlib.import_module(module_name)
            count += 1
        except Exception as e:
            problems[name] = "import %s: %s: %s" % (module_name, type(e).__name__, e)
    return count


def format_problems(problems):
    return ", ".join("%s (%s)" % (name, reason) for name, reason in problems.items())
