"""Completion and inspection from the live namespace: what ipykernel answers, because the objects
are real (`df.` lists the DataFrame's columns). Positions count code points, as the Jupyter
protocol (5.2+) and Python's strings do. Replies have the introspection helper's shape:
    complete → {"matches": [...], "start": n, "end": n, "types": [{start, end, text, type, signature}]}
    inspect  → {"found": bool, "data": {mime: text}}
"""
import re

_TOKEN = re.compile(r"[A-Za-z_][\w.]*$")


def complete(shell, code, cursor):
    cursor = max(0, min(int(cursor), len(code)))
    ipython = getattr(shell, "shell", None)
    if ipython is not None:
        return _complete_ipython(ipython, code, cursor)
    return _complete_plain(shell.ns, code, cursor)


def inspect(shell, code, cursor, detail):
    cursor = max(0, min(int(cursor), len(code)))
    ipython = getattr(shell, "shell", None)
    if ipython is not None:
        return _inspect_ipython(ipython, code, cursor, int(detail or 0))
    return _inspect_plain(shell.ns, code, cursor)


def _complete_ipython(ipython, code, cursor):
    # IPython's own completer, as ipykernel's experimental completions use it: jedi when it is
    # importable, IPython's matchers (dict keys, paths, attributes of real objects) always.
    from IPython.core.completer import provisionalcompleter, rectify_completions

    completer = ipython.Completer
    with provisionalcompleter():
        found = list(rectify_completions(code, completer.completions(code, cursor)))
        if not found and completer.use_jedi:
            # jedi fails quietly (e.g. a cache file another process left half-written): IPython's
            # own matchers still see the real objects.
            completer.use_jedi = False
            try:
                found = list(rectify_completions(code, completer.completions(code, cursor)))
            finally:
                completer.use_jedi = True
    start, end = (found[0].start, found[0].end) if found else (cursor, cursor)
    return {
        "matches": [c.text for c in found],
        "start": start,
        "end": end,
        "types": [
            {"start": c.start, "end": c.end, "text": c.text, "type": c.type or "", "signature": c.signature or ""}
            for c in found
        ],
    }


def _inspect_ipython(ipython, code, cursor, detail):
    from IPython.utils.tokenutil import token_at_cursor

    name = token_at_cursor(code, cursor)
    if not name:
        return {"found": False, "data": {}}
    try:
        bundle = ipython.object_inspect_mime(name, detail_level=detail)
    except KeyError:
        return {"found": False, "data": {}}
    data = dict((k, v) for k, v in bundle.items() if isinstance(v, str))
    if not ipython.enable_html_pager:
        data.pop("text/html", None)
    return {"found": "text/plain" in data, "data": data}


def _token(code, cursor):
    match = _TOKEN.search(code[:cursor])
    return match.group(0) if match else ""


def _complete_plain(ns, code, cursor):
    import rlcompleter

    token = _token(code, cursor)
    completer = rlcompleter.Completer(ns)
    matches = []
    for i in range(1000):
        m = completer.complete(token, i)
        if m is None:
            break
        if m not in matches:
            matches.append(m)
    start = cursor - len(token)
    types = [{"start": start, "end": cursor, "text": m, "type": "", "signature": ""} for m in matches]
    return {"matches": matches, "start": start, "end": cursor, "types": types}


def _lookup(ns, dotted):
    """The object a dotted name refers to, by attribute lookup only (nothing is called)."""
    import builtins

    parts = dotted.split(".")
    if parts[0] in ns:
        obj = ns[parts[0]]
    elif hasattr(builtins, parts[0]):
        obj = getattr(builtins, parts[0])
    else:
        raise KeyError(dotted)
    for part in parts[1:]:
        obj = getattr(obj, part)
    return obj


def _inspect_plain(ns, code, cursor):
    end = cursor
    while end < len(code) and (code[end].isalnum() or code[end] == "_"):
        end += 1
    name = _token(code, end).rstrip(".")
    if not name:
        return {"found": False, "data": {}}
    try:
        obj = _lookup(ns, name)
    except Exception:
        return {"found": False, "data": {}}
    try:
        text = repr(obj)
    except Exception:
        text = "<unrepresentable>"
    if len(text) > 2000:
        text = text[:2000] + "..."
    lines = ["Type:      %s" % type(obj).__name__, "String form: %s" % text]
    doc = getattr(obj, "__doc__", None)
    if isinstance(doc, str) and doc.strip():
        lines += ["Docstring:", doc.strip()]
    return {"found": True, "data": {"text/plain": "\n".join(lines)}}
