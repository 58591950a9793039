"""The namespace on disk, as the allocation's worker uses it: two operations, nothing finer.

    save_all(path, shell, module, have_dill)     every carried name of the live namespace → path
    restore_all(path, shell, module, have_dill)  every name stored at path → the live namespace
    signature(path)                              what identifies the stored namespace's version

They sit on top of the per-cell runner's namespace module, so that a change of its storage is
followed here in one place.
"""
import os

from .. import namespace


def _excluded(shell):
    return shell.hidden_names() if hasattr(shell, "hidden_names") else ()


def save_all(path, shell, module, have_dill):
    """Saves every carried name; returns the per-cell runner's `namespace` result (without type)."""
    return namespace.save(path, shell.ns, module, have_dill, _excluded(shell))


def restore_all(path, shell, module, have_dill):
    """Loads every stored name over the live ones; returns (count restored, {name: problem})."""
    return namespace.restore(path, shell.ns, module, have_dill, shell)


def signature(path):
    """(inode, size, mtime) of the stored namespace, None when there is none: a different value
    means someone else (a per-cell job) wrote it since."""
    try:
        st = os.stat(path)
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
