"""Which stored names a cell loads, and loading them.

A cell loads the stored names that appear in its text (code, strings, comments, magic arguments)
and, transitively, the names that the code of what it loads uses (a function from cell 1 that
reads `df` brings `df` along); not the names it only assigns. Records are loaded whole: names that
share objects share a record.

Three ways the text cannot tell are handled:
- reading the namespace dict itself (`globals()`, `locals()`, argument-less `vars()`/`dir()`,
  `__main__`, frame inspection, IPython's `user_ns` and `%who`/`%whos`/`%reset`/`%xdel`/`%store`):
  every name is loaded first;
- looking names up by their text (`eval`, `exec`, `runpy`, `%run`): a fallback loads a name on
  first access (the module's `__builtins__` becomes a dict whose `__missing__` loads from the
  store). Only then: that dict makes every global lookup slower (3-6x in tight loops), so
  ordinary cells do without it;
- anything else (code in a module file reading `__main__.x`) fails on the missing name, and the
  runner explains (main.py): naming the variable anywhere in the cell, even in a comment, loads it.
"""
import ast
import builtins
import importlib
import os
import re
import threading
import time

from . import pickling

# Code that reads the namespace dict itself: every name must be in it.
_LIST_ALL = re.compile(
    r"\b(?:globals|locals)\s*\(|\b(?:vars|dir)\s*\(\s*\)|"
    r"\b(?:user_ns|__main__|_getframe|currentframe|f_globals|f_back)\b|"
    r"%(?:who|whos|who_ls|reset|reset_selective|xdel|store)\b"
)
_LIST_ALL_REFS = frozenset(("globals", "locals", "user_ns", "__main__", "_getframe", "currentframe", "f_globals"))
# Code that looks names up by their text: the fallback finds them.
_DYNAMIC = frozenset(("eval", "exec", "runpy"))
_RUN_MAGIC = re.compile(r"(?m)^\s*%run\b")
_MISSING = object()


class LazyBuiltins(dict):
    """The cell's `__builtins__` while the fallback is on: builtins first, then the store."""

    def __init__(self, loader):
        super(LazyBuiltins, self).__init__(builtins.__dict__)
        self._loader = loader

    def __missing__(self, name):
        value = builtins.__dict__.get(name, _MISSING)  # what IPython adds to builtins later
        if value is not _MISSING:
            return value
        return self._loader.load_on_access(name)


class Loader(object):
    def __init__(self, store_dir, index, ns, main_module, have_dill, mapped):
        self.store_dir = store_dir
        self.index = index
        self.ns = ns
        self.main_module = main_module
        self.have_dill = have_dill
        self.mapped = mapped
        self.bound = {}  # record id -> names bound from it
        self.imported = set()  # module names imported
        self.tried = set()  # names whose loading was attempted
        self.problems = {}  # name -> why it could not be loaded (it stays in the store)
        self.lost = {}  # name -> why it is gone for good (its file is missing)
        self.read_bytes = 0
        self.seconds = 0.0
        self.mode = "text"
        self._lock = threading.RLock()

    @property
    def loaded_names(self):
        return set(self.imported).union(*self.bound.values()) if self.bound else set(self.imported)

    def plan(self, source):
        """The names to load before the cell runs, and whether the fallback is needed."""
        names = self.index["names"]
        if not names:
            return set()
        if _LIST_ALL.search(source):
            self.mode = "all"
            return set(names)
        words = pickling.identifiers(source)
        wanted = self._closure(words.intersection(names) - only_assigned(source))
        refs = set()
        for name in wanted:
            record = self._record_of(name)
            if record is not None:
                refs.update(record.get("refs", ()))
        if refs & _LIST_ALL_REFS:
            self.mode = "all"
            return set(names)
        if (words | refs) & _DYNAMIC or _RUN_MAGIC.search(source):
            self.mode = "fallback"
        return wanted

    def _closure(self, start):
        names = self.index["names"]
        wanted, stack = set(), list(start)
        while stack:
            name = stack.pop()
            if name in wanted:
                continue
            wanted.add(name)
            record_id = names[name].get("record")
            record = self.index["records"].get(record_id) if record_id else None
            if record is None:
                continue
            for other in record.get("refs", ()):
                if other in names and other not in wanted:
                    stack.append(other)
            for member in record.get("names", ()):
                if names.get(member, {}).get("record") == record_id and member not in wanted:
                    stack.append(member)
        return wanted

    def _record_of(self, name):
        record_id = self.index["names"].get(name, {}).get("record")
        return self.index["records"].get(record_id) if record_id else None

    def install_fallback(self):
        self.ns["__builtins__"] = LazyBuiltins(self)

    def load(self, names):
        """Loads names (sorted: the same order every time); problems are recorded, not raised."""
        for name in sorted(names):
            self._load(name)

    def load_on_access(self, name):
        """The fallback: the value of a stored name the cell reached for, or KeyError (NameError)."""
        with self._lock:
            if name not in self.index["names"] or name in self.tried:
                if name in self.ns:
                    return self.ns[name]
                raise KeyError(name)
            self._load(name)
            if name in self.ns:
                return self.ns[name]
            reason = self.problems.get(name) or self.lost.get(name) or "not restored"
            raise NameError("name %r is in the namespace but could not be loaded: %s" % (name, reason))

    def _load(self, name):
        with self._lock:
            if name in self.tried:
                return
            started = time.time()
            try:
                entry = self.index["names"][name]
                if "module" in entry:
                    self.tried.add(name)
                    self._import(name, entry["module"])
                else:
                    self._load_record(entry["record"])
            finally:
                self.seconds += time.time() - started

    def _import(self, name, module_name):
        try:
            module = importlib.import_module(module_name)
        except Exception as e:
            self.problems[name] = "import %s: %s: %s" % (module_name, type(e).__name__, e)
            return
        if name not in self.ns:
            self.ns[name] = module
            self.imported.add(name)

    def _load_record(self, record_id):
        record = self.index["records"][record_id]
        members = [n for n in record["names"] if self.index["names"].get(n, {}).get("record") == record_id]
        self.tried.update(members)
        if record.get("pickler") == "dill" and not self.have_dill:
            for name in members:
                self.problems[name] = "saved with dill, which is not importable in this environment"
            return
        try:
            with open(os.path.join(self.store_dir, record["file"]), "rb") as f:
                buffers = [self.mapped.view(*ref) for ref in record["buffers"]]
                values = pickling.loads(f, record["starts"], buffers, record.get("pickler"), self.main_module)
        except FileNotFoundError as e:
            for name in members:
                self.lost[name] = "its file is missing from the namespace store (%s); the name is dropped" % (
                    os.path.basename(e.filename or record["file"])
                )
            return
        except Exception as e:
            for name in members:
                self.problems[name] = _reason(e)
            return
        self.read_bytes += record.get("size", 0)
        bound = []
        for name, value in zip(record["names"], values):
            # A name the cell assigned before the fallback loaded its record keeps the cell's value.
            if name in members and name not in self.ns:
                self.ns[name] = value
                bound.append(name)
        self.bound[record_id] = bound


def only_assigned(source):
    """Names the cell only assigns (`df = pd.read_csv(...)`): their old values need not be loaded.
    Every mention of the name in the text must be such an assignment (a comment, a string, an
    attribute of the same spelling count as uses); a cell that is not plain Python gives none."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    stores, used = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
            else:
                used.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            used.add(node.target.id)  # x += 1 reads x
    if not stores:
        return set()
    mentions = {}
    for word in pickling.IDENTIFIER.findall(source):
        if word in stores:
            mentions[word] = mentions.get(word, 0) + 1
    return set(name for name, count in stores.items() if name not in used and mentions.get(name) == count)


def _reason(error):
    text = "%s: %s" % (type(error).__name__, error)
    return text if len(text) <= 300 else text[:297] + "..."
