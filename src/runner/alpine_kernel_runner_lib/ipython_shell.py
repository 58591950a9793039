"""The executor used when IPython is importable: an InteractiveShell whose display publisher,
displayhook and traceback display write events, the way ipykernel's ZMQInteractiveShell sends
messages. Magics, top-level await, rich formatters and `get_ipython()` all work as in Jupyter.

Imported only when IPython is importable (importing IPython is most of the startup time).
"""
import sys

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.error import StdinNotImplementedError  # noqa: F401  (re-exported for main)
from IPython.core.interactiveshell import InteractiveShell

from . import display as rich
from . import events


class EventDisplayPublisher(DisplayPublisher):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        rich.publish_display_data(data, metadata, transient, update)

    def clear_output(self, wait=False):
        rich.clear_output(wait)


class EventDisplayHook(DisplayHook):
    """Turns the value of the cell's last expression into an execute_result event."""

    def start_displayhook(self):
        self._data, self._metadata = {}, {}

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self._data, self._metadata = format_dict, md_dict or {}

    def finish_displayhook(self):
        if self._data:
            rich.publish_execute_result(self.prompt_count, self._data, self._metadata)
        self._data, self._metadata = {}, {}


class EventShell(InteractiveShell):
    displayhook_class = EventDisplayHook
    display_pub_class = EventDisplayPublisher
    # Like ipykernel: `!cmd` output goes through sys.stdout, i.e. into stream events.
    system = InteractiveShell.system_piped

    def init_virtualenv(self):
        # As in ipykernel: the job runs in the environment its script activated; IPython's
        # virtualenv detection would only warn and add paths.
        pass

    def enable_gui(self, gui=None):
        # `%matplotlib inline` lands here with no GUI; a batch job has no event loop for others.
        if gui not in (None, "inline"):
            from IPython.core.error import UsageError

            raise UsageError(
                "%%matplotlib %s needs a GUI event loop, which a batch job does not have; "
                "figures are shown inline without any %%matplotlib" % gui
            )
        self.active_eventloop = gui

    def _showtraceback(self, etype, evalue, stb):
        events.emit(
            {
                "type": "error",
                "ename": getattr(etype, "__name__", str(etype)),
                "evalue": _safe_str(evalue),
                "traceback": list(stb),
            }
        )


def _safe_str(value):
    try:
        return str(value)
    except Exception:
        return "<unprintable %s>" % type(value).__name__


def _page_event(_shell, data, start=0, screen_lines=0, pager_cmd=None):
    """IPython's pager (`obj?`, `%pinfo`, `help` in a notebook): a page event, which the server
    returns in the execute_reply's payload as ipykernel does."""
    bundle = data if isinstance(data, dict) else {"text/plain": data}
    events.emit({"type": "page", "data": bundle, "start": int(start or 0)})


def create_shell(module):
    """The shell instance (so get_ipython() finds it), executing in module (registered as
    sys.modules['__main__'] by IPython itself)."""
    from traitlets.config import Config

    config = Config()
    # Each cell is a fresh process: a history database would only add sqlite writes (and lock
    # contention on a shared home directory) to every cell.
    config.HistoryManager.enabled = False
    shell = EventShell.instance(config=config, user_module=module)
    assert sys.modules["__main__"] is module
    shell.set_hook("show_in_pager", _page_event, 99)
    return shell


class IPythonRunner(object):
    def __init__(self, module, execution_count):
        self.shell = create_shell(module)
        self.shell.execution_count = execution_count
        self.ns = self.shell.user_ns
        self.last_error = None

    def run_cell(self, source, silent=False, store_history=True):
        result = self.shell.run_cell(source, store_history=store_history and not silent, silent=silent)
        self.last_error = result.error_in_exec
        return bool(result.success)

    def hidden_names(self):
        """Names IPython put in the namespace itself, while they still hold IPython's value."""
        hidden = self.shell.user_ns_hidden
        return set(k for k, v in hidden.items() if k in self.ns and self.ns[k] is v)
