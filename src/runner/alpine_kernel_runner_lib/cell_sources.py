"""The source of earlier cells, carried with the namespace.

A function defined in cell 1 and failing in cell 3 runs in a process that never saw cell 1's
text. Carrying the sources of the cells that defined carried functions and classes lets
tracebacks show those lines (through linecache) and, under IPython, label them "Cell In[1]".
"""
import linecache
import re
import types

_CELL_FILENAME = re.compile(r"^<(?:cell In\[(\d+)\]|ipython-input-(\d+)-[0-9a-f]+)>$")


def collect(ns, names):
    """{file name: source} of the cells that defined the functions and classes among names."""
    files = set()
    for name in names:
        try:
            for code in _code_objects(ns.get(name)):
                if _CELL_FILENAME.match(code.co_filename):
                    files.add(code.co_filename)
        except Exception:  # an odd object (a proxy raising from getattr) only loses its source
            continue
    sources = {}
    for filename in files:
        entry = linecache.cache.get(filename)
        if entry is not None and len(entry) == 4:
            sources[filename] = "".join(entry[2])
    return sources


def _code_objects(value):
    if isinstance(value, types.FunctionType):
        yield value.__code__
        return
    cls = value if isinstance(value, type) else type(value)
    if cls.__module__ != "__main__":
        return
    for attribute in vars(cls).values():
        func = getattr(attribute, "__func__", getattr(attribute, "fget", attribute))
        if isinstance(func, types.FunctionType):
            yield func.__code__


def register(sources, shell=None):
    """Make restored cell sources visible to linecache (and to IPython's "Cell In[N]" labels)."""
    filename_map = getattr(getattr(getattr(shell, "shell", None), "compile", None), "_filename_map", None)
    for filename, source in sources.items():
        if filename in linecache.cache:
            continue
        lines = source.splitlines(True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        match = _CELL_FILENAME.match(filename)
        if isinstance(filename_map, dict) and match and match.group(2):
            filename_map[filename] = int(match.group(2))
