"""The source of earlier cells, carried with the namespace.

A function defined in cell 1 and failing in cell 3 runs in a process that never saw cell 1's
text. Carrying the sources of the cells that defined carried functions and classes lets
tracebacks show those lines (through linecache) and, under IPython, label them "Cell In[1]".
"""
import linecache
import re

_CELL_FILENAME = re.compile(r"^<(?:cell In\[(\d+)\]|ipython-input-(\d+)-[0-9a-f]+)>$")


def is_cell_file(filename):
    return bool(_CELL_FILENAME.match(filename))


def sources_of(filenames):
    """{file name: source} of those cells whose text this process has (linecache)."""
    sources = {}
    for filename in filenames:
        entry = linecache.cache.get(filename)
        if entry is not None and len(entry) == 4:
            sources[filename] = "".join(entry[2])
    return sources


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
