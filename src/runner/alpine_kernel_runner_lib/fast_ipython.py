"""Importing IPython without what a batch job never uses: `import IPython` pulls in the terminal
front end (prompt_toolkit, the embedded shell, the debugger's terminal) and jedi for completion —
about a third of IPython's import time, paid by every cell. Both are deferred, not removed: a cell
that imports them gets the real modules."""

import sys
import types

_EMBED = "IPython.terminal.embed"


def _lazy_embed(**kwargs):
    sys.modules.pop(_EMBED, None)
    from IPython.terminal.embed import embed

    return embed(**kwargs)


def prepare():
    """Call before the first IPython import; call `finish()` right after it."""
    if "IPython" in sys.modules:
        return
    stub = types.ModuleType(_EMBED)
    stub.embed = _lazy_embed
    sys.modules[_EMBED] = stub
    if "jedi" not in sys.modules:
        sys.modules["jedi"] = None  # IPython's completer then does without jedi (it is not used here)


def finish():
    if sys.modules.get(_EMBED) is not None and getattr(sys.modules[_EMBED], "embed", None) is _lazy_embed:
        del sys.modules[_EMBED]  # a later `import IPython.terminal.embed` loads the real module
    if "jedi" in sys.modules and sys.modules["jedi"] is None:
        del sys.modules["jedi"]  # a cell's own `import jedi` works as usual
