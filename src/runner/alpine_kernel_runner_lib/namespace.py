"""Carrying the user namespace from one cell job to the next (docs/cell-runner.md): which names
are carried, and one cell's use of the namespace store (store.py): open it, load what the cell
needs (loader.py), save what it changed (saver.py), and the `namespace` event that says so.
"""
import os
import re
import time

from . import cell_sources, saver, store
from .loader import Loader
from .mapped import MappedFiles

# IPython's bookkeeping names; dunder names are skipped as well.
_SKIP_NAMES = frozenset(("In", "Out", "_", "__", "___", "_ih", "_oh", "_dh", "get_ipython", "exit", "quit"))
_SKIP_PATTERN = re.compile(r"^(_i{1,3}|_i\d+|_\d+)$")
_MISSING_NAME = re.compile(r"name '(\w+)' is not defined|module '__main__' has no attribute '(\w+)'")


def is_carried_name(name):
    if name in _SKIP_NAMES or _SKIP_PATTERN.match(name):
        return False
    return not (name.startswith("__") and name.endswith("__"))


def format_problems(problems):
    return ", ".join("%s (%s)" % (name, reason) for name, reason in problems.items())


def describe(value):
    """A few words on a value for %whos ("1000×3 float64", "120 rows × 4 columns", "len 12")."""
    try:
        kind = type(value).__name__
        shape = getattr(value, "shape", None) if not isinstance(value, type) else None
        if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape):
            if kind == "DataFrame" and len(shape) == 2:
                return "%d rows × %d columns" % shape
            dtype = getattr(value, "dtype", None)
            dims = "×".join(str(d) for d in shape) or "scalar"
            return "%s %s" % (dims, dtype) if dtype is not None else dims
        if isinstance(value, (bool, int, float, complex)) or (isinstance(value, str) and len(value) <= 40):
            text = repr(value)
            return text if len(text) <= 40 else text[:37] + "..."
        if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)):
            return "len %d" % len(value)
    except Exception:
        pass
    return ""


def io_counters():
    """This process's I/O so far (/proc/self/io): bytes read and written through system calls
    (rchar, wchar) and from/to storage (read_bytes, write_bytes); None where there is no such file."""
    try:
        with open("/proc/self/io") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    keys = ("rchar", "wchar", "read_bytes", "write_bytes")
    try:
        return dict((k, int(fields[k])) for k in keys if k in fields)
    except ValueError:
        return None


class Namespace(object):
    """The store this cell reads (namespace_in) and writes (namespace_out): the same directory, or
    a detached cell's snapshot that is only read."""

    def __init__(self, namespace_in, namespace_out, have_dill, seed=None):
        # Absolute: the cell may change the working directory before the namespace is saved.
        self.store_dir = os.path.abspath(namespace_in or namespace_out)
        # An array task's store starts as a copy of this one (its array's snapshot).
        self.seed = seed
        self.writable = bool(namespace_out)
        self.readable = bool(namespace_in)
        self.have_dill = have_dill
        self.kind = "dill" if have_dill else "pickle"
        self.index = store.empty_index()
        self.start_generation = None
        self.problems = {}
        self.kept_aside = None
        self.main_module = None
        self.loader = None
        self.mapped = None

    def open(self):
        """Reads the index; one that cannot be read is a problem, and is moved aside (with its files)
        when this cell would otherwise write over it."""
        if self.seed and self.writable:
            try:
                store.seed(self.store_dir, self.seed)
            except store.StoreError as e:
                self.problems["*"] = str(e)
        if self.readable:
            try:
                index = store.read_index(self.store_dir)
            except store.StoreError as e:
                self.problems["*"] = str(e)
                index = None
                if self.writable:
                    self.kept_aside = store.set_aside(self.store_dir)
            if index is not None:
                self.index = index
                self.start_generation = index["generation"]
        if self.writable:
            store.ensure_dir(self.store_dir)

    def restore(self, source, ns, main_module, shell=None):
        """Loads what the cell's text needs; returns {name: reason} for what could not be loaded."""
        self.main_module = main_module
        cell_sources.register(self.index["sources"], shell)
        self.mapped = MappedFiles(self.store_dir)
        self.loader = Loader(self.store_dir, self.index, ns, main_module, self.have_dill, self.mapped)
        wanted = self.loader.plan(source)
        if self.loader.mode == "fallback":
            self.loader.install_fallback()
        self.loader.load(wanted)
        problems = dict(self.problems)
        problems.update(self.loader.problems)
        problems.update(self.loader.lost)
        return problems

    def restore_warning(self, problems):
        kept = [n for n in problems if n in self.loader.problems]
        notes = []
        if kept:
            notes.append("kept in the namespace for a cell that can load %s" % ("it" if len(kept) == 1 else "them"))
        if self.kept_aside:
            notes.append("the previous namespace is kept as %s" % self.kept_aside)
        return "alpine-kernel: not restored from the previous cell: %s%s\n" % (
            format_problems(problems),
            "".join(" (%s)" % note for note in notes),
        )

    def unloaded_hint(self, error):
        """What to say when the cell failed on a stored name it did not load."""
        if not isinstance(error, (NameError, AttributeError)) or self.loader is None:
            return None
        match = _MISSING_NAME.search(str(error))
        name = (match.group(1) or match.group(2)) if match else None
        if name not in self.index["names"] or name in self.loader.tried:
            return None
        return (
            "alpine-kernel: %s is in the namespace, but this cell did not load it: a cell loads the names "
            "that appear in its text and those the functions it uses refer to. Mention %s anywhere in the "
            "cell (a comment is enough) and run it again.\n" % (name, name)
        )

    def save(self, ns, excluded=()):
        """Saves what the cell changed; returns the `namespace` event."""
        started = time.time()
        new_index, stats, skipped = saver.save(self, ns, excluded, is_carried_name, describe)
        if new_index is not None and self.seed:
            store.remove_quietly(os.path.join(self.store_dir, store.SEEDED))
        index = new_index if new_index is not None else self.index
        event = {
            "type": "namespace",
            "saved": len(index["names"]),
            "names": dict((n, e.get("type", "")) for n, e in index["names"].items()),
            # For the introspection helper: what each name is, without its value.
            "modules": dict((n, e["module"]) for n, e in index["names"].items() if "module" in e),
            "types": dict((n, e["class"]) for n, e in index["names"].items() if "class" in e),
            "skipped": skipped,
            "bytes": store.store_bytes(index),
            "seconds": round(time.time() - started, 3),
            "written": stats["written"],
            "written_bytes": stats["written_bytes"],
            "deleted": len([n for n in self.index["names"] if n not in index["names"]]),
        }
        event.update(self._load_stats())
        return event

    def read_only_event(self):
        """A detached cell's `namespace` event: what it loaded from its snapshot; nothing saved."""
        event = {"type": "namespace", "saved": 0, "skipped": {}, "read_only": True}
        event.update(self._load_stats())
        return event

    def _load_stats(self):
        loader = self.loader
        stats = {
            "total": len(self.index["names"]),
            "loaded": len(loader.loaded_names) if loader else 0,
            "loaded_bytes": loader.read_bytes if loader else 0,
            "mapped_bytes": self.mapped.mapped_bytes if self.mapped else 0,
            "load_seconds": round(loader.seconds, 3) if loader else 0,
        }
        counters = io_counters()
        if counters:
            stats["io"] = counters
        return stats


def load_name(store_dir, name, main_module, have_dill):
    """One name of a saved namespace store, without loading the others: (True, value, None) or
    (False, None, why it is not there). `%slurm gather` reads each array task's result this way
    (the record holding it is loaded whole: names that share objects share a record)."""
    try:
        index = store.read_index(store_dir)
    except store.StoreError as e:
        return False, None, "unreadable namespace: %s" % e
    if index is None or os.path.exists(os.path.join(store_dir, store.SEEDED)):
        return False, None, "no saved namespace"
    if name not in index["names"]:
        return False, None, "no name %r in its namespace" % name
    ns = {}
    loader = Loader(store_dir, index, ns, main_module, have_dill, MappedFiles(store_dir))
    loader.load([name])
    if name in ns:
        return True, ns[name], None
    return False, None, loader.problems.get(name) or loader.lost.get(name) or "not restored"
