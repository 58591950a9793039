"""Completion and inspection for the introspection helper (alpine_kernel_introspect.py), with jedi.

The notebook's namespace is known by its types only (the values live in the cells' jobs). A stand-in
namespace is built from them (see `Context`), and answers follow IPython's own conventions, so that
JupyterLab shows what it shows with ipykernel: matches with jedi's types, Inspector's text.
"""
import keyword
import re

from . import cell_bindings, stand_in

_ATTRIBUTE_AT_END = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$")
_STRING_ATTRIBUTE_AT_END = re.compile(r"(?:^|[\s(\[{,=])(?:'[^'\\]*'|\"[^\"\\]*\")\.(\w*)$")
_FROM_IMPORT_AT_END = re.compile(r"^\s*from\s+([A-Za-z_][\w.]*)\s+import\s+(?:\(?\s*(?:\w+(?:\s+as\s+\w+)?\s*,\s*)*)(\w*)$")
_IMPORT_AT_END = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w.]*|)$")
# The keywords jedi offers where a statement starts, and inside an expression.
_STATEMENT_KEYWORDS = set(keyword.kwlist) - {"finally", "else", "elif", "except", "as", "in", "is", "and", "or"}
_EXPRESSION_KEYWORDS = {"False", "None", "True", "lambda", "not", "await", "yield"}
_NAME_AT_END = re.compile(r"(?:^|[\s=(\[{,:+\-*/%<>!&|^~@])([A-Za-z_]\w*)$")
# After these a name is being bound or is a module's, not looked up: jedi's to answer.
_BINDING_BEFORE = re.compile(r"\b(def|class|import|from|as|global|nonlocal|lambda|for|with|except)\s+[\w., ]*$")
_BOUND_NAME = re.compile(
    r"^(?:([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)|(?:def|class)\s+([A-Za-z_]\w*)|import\s+([A-Za-z_]\w*)|for\s+([A-Za-z_]\w*)\s+in\b)",
    re.M,
)
_NAME_AT = re.compile(r"[A-Za-z_][\w.]*")


def _sort_key(name):
    """jedi's order: public names, then _private, then __dunder__, alphabetically."""
    return (name.startswith("__"), name.startswith("_"), name.lower())


def _line_and_column(text):
    lines = text.split("\n")
    return len(lines), len(lines[-1])


def _import_matches(names, typed):
    """IPython's rule for its import completer: the names that start with what was typed, else
    those that do when case is ignored (`from collections import Def` → defaultdict)."""
    found = [n for n in names if n.startswith(typed)]
    return found or [n for n in names if n.lower().startswith(typed.lower())]


def _in_string(line):
    """A quote left open on the line: completing inside a string is not Python completion."""
    quotes = re.sub(r"\\.", "", line)
    return quotes.count("'") % 2 == 1 or quotes.count('"') % 2 == 1


def _blank_magics(code):
    """IPython's %magics and !shell lines are not Python: jedi sees them as empty lines."""
    return "\n".join("" if line.lstrip()[:1] in ("%", "!") else line for line in code.split("\n"))


class Session:
    def __init__(self, jedi):
        self.jedi = jedi
        self.context = stand_in.Context({}, {}, [])
        # Warm up before saying ready: jedi's first completion and IPython's inspector cost ~1 s.
        self.complete("x = [1]\nx.ap", 12)  # jedi (the quick paths need no warming)
        # The builtins as jedi knows them (its typeshed), for bare names answered without it.
        self.builtins = {c.name for c in jedi.Interpreter("", [{}]).complete(1, 0) if c.type != "keyword"}
        self.inspect("len(", 4, 0)

    def quick(self, request):
        """The reply when it needs no jedi (the real objects, at once), else None."""
        op, code, cursor = request.get("op"), request.get("code"), request.get("cursor")
        if op not in ("complete", "inspect") or not isinstance(code, str) or not isinstance(cursor, int):
            return None
        if not 0 <= cursor <= len(code):
            return None
        if op == "complete":
            line = code[:cursor].rsplit("\n", 1)[-1]
            if line.lstrip()[:1] in ("%", "!") or _in_string(line):
                return self._reply(cursor, (0, []))
            found = self._attribute_matches(code[:cursor], line)
            if found is None:
                found = self._name_matches(code[:cursor], line)
            return None if found is None else self._reply(cursor, found)
        name = _token_at_cursor(code, cursor)
        target = self.context.resolve(name) if name else None
        if not name:
            return {"found": False}
        return None if target is None else {"found": True, "data": target.describe(name, int(request.get("detail") or 0))}

    def handle(self, request):
        op = request.get("op")
        if op == "context":
            self.context = stand_in.Context(
                request.get("modules") or {}, request.get("types") or {}, request.get("cells") or []
            )
            return {"ok": True, "unresolved": sorted(self.context.unresolved)}
        code, cursor = request.get("code"), request.get("cursor")
        if not isinstance(code, str) or not isinstance(cursor, int) or not 0 <= cursor <= len(code):
            return {"error": "code must be a string and cursor a position in it"}
        if op == "complete":
            return self.complete(code, cursor)
        if op == "inspect":
            return self.inspect(code, cursor, int(request.get("detail") or 0))
        return {"error": "unknown op %r" % (op,)}

    # ------------------------------------------------------------------ completion

    def complete(self, code, cursor):
        text = code[:cursor]
        line = text.rsplit("\n", 1)[-1]
        if line.lstrip()[:1] in ("%", "!") or _in_string(line):
            return {"matches": [], "start": cursor, "end": cursor, "types": []}
        found = self._attribute_matches(text, line)
        if found is None:
            found = self._jedi_matches(_blank_magics(text), line)
        return self._reply(cursor, found)

    @staticmethod
    def _reply(cursor, found):
        prefix_len, items = found
        start = cursor - prefix_len
        return {
            "matches": [name for name, _type, _sig in items],
            "start": start,
            "end": cursor,
            "types": [
                {"start": start, "end": cursor, "text": name, "type": kind, "signature": sig}
                for name, kind, sig in items
            ],
        }

    def _attribute_matches(self, text, line):
        """`obj.attr.pre` where obj is a module or a name of known type: from the real objects at
        once (jedi takes 0.2-0.7 s on a DataFrame's members). None when jedi must answer."""
        literal = _STRING_ATTRIBUTE_AT_END.search(line)
        if literal:
            return self._matches(stand_in.Real(str), literal.group(1))
        plain_import = _IMPORT_AT_END.match(line)
        if plain_import:
            # IPython's import completer: a package's submodules as whole dotted names.
            dotted = plain_import.group(1)
            package, dot, _typed = dotted.rpartition(".")
            names = stand_in.module_names(package)
            if names is None:
                return None
            found = _import_matches([package + dot + n for n in names], dotted)
            return len(dotted), [(n, "module", "") for n in sorted(found)]
        from_import = _FROM_IMPORT_AT_END.match(line)
        if from_import:
            module = stand_in.import_quietly(from_import.group(1))
            if module is None:
                return None
            target, typed = stand_in.Real(module), from_import.group(2)
            found = _import_matches(target.names(), typed)
            if not typed:
                found = [n for n in found if not n.startswith("_")]
            found.sort(key=_sort_key)
            return len(typed), [(n,) + target.kind_of(n) for n in found]
        m = _ATTRIBUTE_AT_END.search(line)
        if not m or (m.start() > 0 and line[m.start() - 1] in ".)]}\"'"):
            return None
        target = self._resolve_in_cell(text, m.group(1))
        if target is None:
            return None
        return self._matches(target, m.group(2))

    def _resolve_in_cell(self, text, dotted):
        """A dotted name as the cell before the cursor's line leaves it: a literal it assigned,
        else the namespace's — or None when only jedi can follow the cell's code."""
        head, *parts = dotted.split(".")
        bound = cell_bindings.last_binding(text, head)
        if bound is cell_bindings.NOT_BOUND:
            return self.context.resolve(dotted)
        if bound is cell_bindings.FOLLOW_THE_CODE:
            return None
        target = stand_in.Instance(bound)
        for part in parts:
            target = target.attribute(part)
            if target is None:
                return None
        return target

    def _matches(self, target, typed):
        names = [n for n in target.names() if n.startswith(typed)]
        if not typed:
            names = [n for n in names if not n.startswith("_")]  # IPython's omit__names=2
        names.sort(key=_sort_key)
        return len(typed), [(n,) + target.kind_of(n) for n in names]

    def _name_matches(self, text, line):
        """A bare name typed at the top level of the cell (not indented: no locals or parameters to
        know of): keywords, builtins, the namespace's names and the names this cell binds before
        the cursor — jedi's answer there, at once. None when jedi must answer."""
        m = _NAME_AT_END.search(line)
        if not m or line[:1].isspace() or _BINDING_BEFORE.search(line[: m.start(1)]):
            return None
        typed = m.group(1)
        if typed.startswith("_"):
            return None
        at_statement = not line[: m.start(1)].strip()
        names = set(_STATEMENT_KEYWORDS if at_statement else _EXPRESSION_KEYWORDS)
        names |= self.builtins | self.context.names()
        names.update(n for groups in _BOUND_NAME.findall(text[: len(text) - len(typed)]) for n in groups if n)
        found = [n for n in names if n.startswith(typed) and not n.startswith("_")]
        found.sort(key=_sort_key)
        kinds = {n: self._kind_of_name(n) for n in found}
        return len(typed), [(n, kinds[n], "") for n in found]

    def _kind_of_name(self, name):
        if keyword.iskeyword(name):
            return "keyword"
        target = self.context.resolve(name)
        if isinstance(target, stand_in.Real):
            return stand_in.kind(target.obj)
        return "instance" if target is not None else "statement"

    def _jedi_matches(self, text, line):
        source = self.context.prefix + text
        row, col = _line_and_column(source)
        completions = self.jedi.Interpreter(source, [self.context.ns]).complete(row, col)
        after_dot = line.endswith(".")
        items, prefix_len = [], 0
        for c in completions:
            name = c.name
            if name.startswith(stand_in.PRIVATE) or (after_dot and name.startswith("_")):
                continue
            prefix_len = c.get_completion_prefix_length()
            items.append((name, c.type, ""))
        return prefix_len, items

    # ------------------------------------------------------------------ inspection

    def inspect(self, code, cursor, detail):
        name = _token_at_cursor(code, cursor)
        if not name:
            return {"found": False}
        target = self.context.resolve(name)
        if target is not None:
            return {"found": True, "data": target.describe(name, detail)}
        return self._jedi_inspect(_blank_magics(code), code.find(name, max(0, cursor - len(name) - 1)), name)

    def _jedi_inspect(self, code, at, name):
        """Cell-defined functions and classes (their source is all there is): jedi's signature and
        docstring, laid out as IPython's Inspector lays them out."""
        if at < 0:
            return {"found": False}
        source = self.context.prefix + code[: at + len(name)]
        row, col = _line_and_column(source)
        found = self.jedi.Interpreter(source, [self.context.ns]).infer(row, col)
        if not found:
            return {"found": False}
        d = found[0]
        # Shown under the name as written (`foo.bar(...)`), as IPython does.
        sigs = [name + s.to_string()[len(s.name) :] for s in d.get_signatures()]
        doc = d.docstring(raw=True)
        fields = []
        if d.type == "class":
            fields.append(("Init signature", sigs[0] if sigs else name + "()"))
        elif sigs:
            fields.append(("Signature", sigs[0]))
        fields.append(("Docstring", doc or "<no docstring>"))
        fields.append(("Type", {"class": "type", "function": "function", "module": "module"}.get(d.type, d.type)))
        return {"found": True, "data": {"text/plain": stand_in.fields_text(fields)}}


def _token_at_cursor(code, cursor):
    """The name Shift-Tab asks about: IPython's own rule (the called function inside a call's
    parentheses), or the dotted name around the cursor without IPython."""
    try:
        from IPython.utils.tokenutil import token_at_cursor

        return token_at_cursor(code, cursor)
    except Exception:  # noqa: BLE001 -- no IPython, or it failed on odd code
        pass
    for m in _NAME_AT.finditer(code):
        if m.start() <= cursor <= m.end():
            return m.group(0).rstrip(".")
    return ""

