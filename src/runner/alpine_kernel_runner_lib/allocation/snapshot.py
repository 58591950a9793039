"""The namespace on disk, as the allocation's worker uses it: two operations, nothing finer.

    save_all(path, shell, module, have_dill)     every carried name of the live namespace → path
    restore_all(path, shell, module, have_dill)  every name stored at path → the live namespace
    signature(path)                              what identifies the stored namespace's version

They sit on top of the per-cell runner's namespace store (namespace.py, a directory with an
index), so that a change of its storage is followed here in one place. A per-cell job loads only
what its cell names and saves only what it touched; the worker holds everything in memory, so it
loads every name and its saves treat every stored name as touched (a name deleted in the live
namespace leaves the store too).
"""
import os

from .. import cell_sources, namespace, store
from ..loader import Loader
from ..mapped import MappedFiles


def _excluded(shell):
    return shell.hidden_names() if hasattr(shell, "hidden_names") else ()


def _opened(path, have_dill, writable, ns, module):
    ctx = namespace.Namespace(path, path if writable else None, have_dill)
    ctx.open()
    ctx.main_module = module
    ctx.mapped = MappedFiles(ctx.store_dir)
    ctx.loader = Loader(ctx.store_dir, ctx.index, ns, module, have_dill, ctx.mapped)
    return ctx


def save_all(path, shell, module, have_dill):
    """Saves every carried name; returns the store's `namespace` event (without type)."""
    ctx = _opened(path, have_dill, True, {}, module)
    # Every stored name counts as touched: one the live namespace no longer has is deleted.
    ctx.loader.imported.update(ctx.index["names"])
    result = ctx.save(shell.ns, _excluded(shell))
    result.pop("type", None)
    return result


def restore_all(path, shell, module, have_dill):
    """Loads every stored name over the live ones; returns (count restored, {name: problem})."""
    ctx = _opened(path, have_dill, False, shell.ns, module)
    cell_sources.register(ctx.index["sources"], shell)
    ctx.loader.load(set(ctx.index["names"]))
    problems = dict(ctx.problems)
    problems.update(ctx.loader.problems)
    problems.update(ctx.loader.lost)
    return len(ctx.loader.loaded_names), problems


def signature(path):
    """(inode, size, mtime) of the stored namespace's index, None when there is none: a different
    value means someone else (a per-cell job) committed a new version since."""
    try:
        st = os.stat(os.path.join(path, store.INDEX))
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def carried_names(shell):
    """{name: type name} of what a save would carry (and what completion and %who list)."""
    excluded = _excluded(shell)
    names = {}
    for name, value in list(shell.ns.items()):
        if namespace.is_carried_name(name) and name not in excluded:
            names[name] = type(value).__name__
    return names


def format_problems(problems):
    return namespace.format_problems(problems)
