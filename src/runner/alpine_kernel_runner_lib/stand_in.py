"""The introspection helper's stand-in for a notebook namespace whose values it never sees.

From what the cell runner reports after each cell (each name's module, or its type as
"module:qualname") and from the cells' code:
- modules are imported for real (jedi inspects them as IPython's completer does);
- a name holding an instance of an importable class becomes an annotation `df: <that class>`
  for jedi, and an `Instance` of that class for the quick attribute path;
- functions and classes defined in cells come from their source (the newest definition wins),
  which jedi reads without running anything.
Nothing of the user's own code is executed here: definitions are parsed, never run.
"""
import ast
import builtins
import importlib
import inspect as pyinspect
import types

PRIVATE = "_ak_stand_in_"
_MISSING = object()
_HEAD = "\x1b[0;31m%s\x1b[0m"  # IPython's "Neutral" colours, as ipykernel shows them


def fields_text(fields):
    """`[(title, text)]` laid out as IPython's Inspector does (format_mime)."""
    width = max(len(title) for title, _ in fields)
    out = ""
    for title, body in fields:
        body = body.strip("\n")
        out += _HEAD % (title + ":") + " " * (width - len(title)) + ("\n" if "\n" in body else " ") + body + "\n"
    return out


def import_quietly(module):
    try:
        return importlib.import_module(module)
    except BaseException:  # noqa: BLE001 -- SystemExit and friends from a module's import too
        return None


_top_level_modules = None


def module_names(package=""):
    """Importable module names: top-level ones (listed once, as IPython's import completer does),
    or a package's submodules. None when the package cannot be imported."""
    global _top_level_modules
    import pkgutil
    import sys

    if not package:
        if _top_level_modules is None:
            _top_level_modules = set(sys.builtin_module_names) | {m.name for m in pkgutil.iter_modules()}
        return _top_level_modules
    mod = import_quietly(package)
    if mod is None:
        return None
    names = {m.name for m in pkgutil.iter_modules(getattr(mod, "__path__", []))}
    # As IPython's try_import: a package's module attributes (json.codecs), and the submodules a
    # module lists in __all__ (os.path), imported or not yet.
    if "__init__" in (getattr(mod, "__file__", None) or "__init__"):
        names.update(n for n in dir(mod) if isinstance(getattr(mod, n, None), types.ModuleType))
    for n in getattr(mod, "__all__", None) or ():
        if isinstance(n, str) and isinstance(getattr(mod, n, types.ModuleType(n)), types.ModuleType):
            names.add(n)
    names.discard("__init__")
    return names


def _class_of(type_path):
    module, _, qualname = type_path.partition(":")
    obj = import_quietly(module) if module and qualname else None
    for part in qualname.split(".") if obj is not None else ():
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _definitions(cells, wanted):
    """The newest top-level def/class of each wanted name in the cells' code: (source, ast node)."""
    found = {}
    for cell in reversed(cells):
        if not wanted - set(found):
            break
        code = "\n".join("" if l.lstrip()[:1] in ("%", "!") else l for l in cell.split("\n"))
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            continue
        lines = code.split("\n")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name in wanted and node.name not in found:
                    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    found[node.name] = ("\n".join(lines[first - 1 : node.end_lineno]), node)
    return found


class Context:
    def __init__(self, modules, type_paths, cells):
        self.ns = {}
        self.instances = {}
        self.unresolved = set()
        self.known = set(modules) | set(type_paths)
        for name, module in modules.items():
            mod = import_quietly(module)
            if mod is None:
                self.unresolved.add(name)
            else:
                self.ns[name] = mod
        annotations, wanted, of_cell_class = [], set(), {}
        for name, type_path in type_paths.items():
            module, _, qualname = type_path.partition(":")
            if module == "builtins" and qualname in ("function", "type"):
                wanted.add(name)
            elif module == "__main__":
                wanted.add(qualname.split(".")[0])
                annotations.append("%s: %s" % (name, qualname))
                of_cell_class[name] = qualname
            else:
                cls = _class_of(type_path)
                if cls is None:
                    self.unresolved.add(name)
                    annotations.append("%s: object" % name)
                    continue
                alias = "%s%d" % (PRIVATE, len(self.instances))
                self.ns[alias] = cls
                self.instances[name] = cls
                annotations.append("%s: %s" % (name, alias))
        defs = _definitions(cells, wanted)
        self.unresolved.update(n for n in wanted if n not in defs and n in type_paths)
        # Instances of plain classes defined in cells: their members are read from the source.
        self.cell_instances = {}
        for name, cls in of_cell_class.items():
            node = defs.get(cls, (None, None))[1]
            if isinstance(node, ast.ClassDef) and not node.bases and not node.keywords:
                self.cell_instances[name] = node
        body = [source for source, _node in defs.values()] + annotations
        self.prefix = "\n".join(body) + "\n" if body else ""

    def names(self):
        """Every name of the namespace (not the stand-in's own aliases)."""
        return {n for n in self.known if not n.startswith(PRIVATE)}

    def resolve(self, dotted):
        """The object a dotted name stands for, when it is known without jedi: a module or a
        builtin (real), an instance of a known class, or one of their attributes."""
        parts = dotted.split(".")
        head = parts[0]
        if head in self.instances:
            target = Instance(self.instances[head])
        elif head in self.cell_instances:
            target = CellInstance(self.cell_instances[head])
        elif head in self.ns and not head.startswith(PRIVATE):
            target = Real(self.ns[head])
        elif head not in self.known and hasattr(builtins, head):
            target = Real(getattr(builtins, head))
        else:
            return None
        for part in parts[1:]:
            target = target.attribute(part)
            if target is None:
                return None
        return target


class Real:
    """A real object: a module, a builtin, or something reached from them."""

    def __init__(self, obj):
        self.obj = obj

    def attribute(self, name):
        try:
            value = getattr(self.obj, name)
        except Exception:  # noqa: BLE001 -- a module's __getattr__ may raise anything
            return None
        return Real(value)

    def names(self):
        try:
            return dir(self.obj)
        except Exception:  # noqa: BLE001
            return []

    def kind_of(self, name):
        try:
            value = getattr(self.obj, name)
        except Exception:  # noqa: BLE001
            return ("instance", "")
        return (kind(value), "")

    def describe(self, oname, detail):
        return _inspector_bundle(self.obj, oname, detail)


class Instance:
    """An instance whose class is known and importable, but whose value lives in the cells' jobs."""

    def __init__(self, cls):
        self.cls = cls

    def attribute(self, name):
        value = pyinspect.getattr_static(self.cls, name, _MISSING)
        if isinstance(value, (staticmethod, classmethod)):
            return Real(getattr(self.cls, name))
        if isinstance(value, types.FunctionType):
            return Method(value)
        if isinstance(value, type):
            return Real(value)
        return None  # a property or a data attribute: its type is not known here

    def names(self):
        return dir(self.cls)

    def kind_of(self, name):
        value = pyinspect.getattr_static(self.cls, name, None)
        if isinstance(value, property):
            return ("property", "")
        if isinstance(value, (staticmethod, classmethod)):
            return ("function", "")
        return (kind(value), "")

    def describe(self, oname, detail):
        cls = self.cls
        fields = [("Type", cls.__name__), ("String form", "<its value lives in the cells' jobs: run `%s` in a cell to see it>" % oname)]
        try:
            fields.append(("File", pyinspect.getfile(cls)))
        except TypeError:
            pass
        fields.append(("Docstring", pyinspect.getdoc(cls) or "<no docstring>"))
        return {"text/plain": fields_text(fields)}


class CellInstance:
    """An instance of a class defined in a cell (no bases): its methods, its class attributes and
    the `self.NAME = ...` of its methods, read from the source, never run."""

    def __init__(self, node):
        self.node = node
        self.members = {}
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in item.decorator_list}
                self.members[item.name] = "property" if "property" in decorators else "function"
                for sub in ast.walk(item):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                        if isinstance(sub.value, ast.Name) and sub.value.id == "self":
                            self.members.setdefault(sub.attr, "instance")
            elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                for target in item.targets if isinstance(item, ast.Assign) else [item.target]:
                    if isinstance(target, ast.Name):
                        self.members.setdefault(target.id, "instance")

    def attribute(self, name):
        return None  # what a member holds is jedi's to infer

    def names(self):
        return sorted(set(self.members) | set(dir(object)))

    def kind_of(self, name):
        return (self.members.get(name, kind(getattr(object, name, None))), "")

    def describe(self, oname, detail):
        fields = [
            ("Type", self.node.name),
            ("String form", "<its value lives in the cells' jobs: run `%s` in a cell to see it>" % oname),
            ("Docstring", ast.get_docstring(self.node) or "<no docstring>"),
        ]
        return {"text/plain": fields_text(fields)}


class Method(Real):
    """A function reached through an instance: shown bound, as `df.groupby(by=None, ...)`."""

    def __init__(self, function):
        Real.__init__(self, types.MethodType(function, _Unbound()))

    def attribute(self, name):
        return None


class _Unbound:
    def __repr__(self):
        return "<the instance in the cells' jobs>"


def kind(value):
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, type):
        return "class"
    if pyinspect.isroutine(value) or isinstance(value, (staticmethod, classmethod)):
        return "function"
    if isinstance(value, property):
        return "property"
    return "instance"


_inspector = None


def _inspector_bundle(obj, oname, detail):
    """IPython's own Inspector when IPython is here (what ipykernel shows), else the same fields."""
    global _inspector
    try:
        from IPython.core import oinspect
        from IPython.utils import PyColorize

        if _inspector is None:
            _inspector = oinspect.Inspector(oinspect.InspectColors, PyColorize.ANSICodeColors, "Neutral", 0)
        bundle = _inspector._get_info(obj, oname, detail_level=detail)
        return {"text/plain": bundle["text/plain"]}
    except ImportError:
        pass
    fields = []
    try:
        fields.append(("Signature", oname + str(pyinspect.signature(obj))))
    except (TypeError, ValueError):
        pass
    fields.append(("Docstring", pyinspect.getdoc(obj) or "<no docstring>"))
    fields.append(("Type", type(obj).__name__))
    return {"text/plain": fields_text(fields)}
