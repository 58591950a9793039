"""Select the alpine-kernel matplotlib backend when (and only if) the cell imports matplotlib.

Setting MPLBACKEND in os.environ would also reach every subprocess the cell starts, where
module://alpine_kernel_mpl_backend is not importable and matplotlib would fail. Instead a
one-shot import hook sets rcParams["backend"] right after matplotlib itself is imported, which is
what MPLBACKEND would do. A user's own MPLBACKEND wins (module://alpine_kernel_mpl_backend works
too: the runner's directory is on sys.path).
"""
import os
import sys

BACKEND = "module://alpine_kernel_mpl_backend"
BACKEND_MODULE = "alpine_kernel_mpl_backend"


class _MatplotlibImportHook(object):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "matplotlib":
            return None
        _remove_hook()
        import importlib.util

        spec = importlib.util.find_spec("matplotlib")
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original_exec_module = loader.exec_module

        def exec_module(module):
            original_exec_module(module)
            _select_backend(module)

        loader.exec_module = exec_module
        return spec


def _select_backend(matplotlib):
    try:
        matplotlib.rcParams["backend"] = BACKEND
    except Exception as e:
        sys.stderr.write("alpine-kernel: could not select the notebook matplotlib backend: %s\n" % e)


def _remove_hook():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _MatplotlibImportHook)]


def install():
    if os.environ.get("MPLBACKEND"):
        return
    if "matplotlib" in sys.modules:
        _select_backend(sys.modules["matplotlib"])
        return
    sys.meta_path.insert(0, _MatplotlibImportHook())


def flush_figures():
    """After the cell: emit the figures still open, then close them (like the inline backend)."""
    backend = sys.modules.get(BACKEND_MODULE)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if backend is None or pyplot is None:
        return
    if sys.modules["matplotlib"].get_backend() != BACKEND:
        return
    backend.flush_figures()
