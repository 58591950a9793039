"""The executor used when IPython is not importable: ast-based, stdlib only.

The cell is compiled under the file name "<cell In[N]>", registered in linecache, so tracebacks
(and inspect.getsource) show the cell's own lines. The last expression's value becomes the
execute_result, unless the cell is silent or the line ends with ';', as in IPython.
"""
import ast
import builtins
import linecache
import traceback

from . import display as rich
from . import events

_CO_COROUTINE = 0x0080
_TOP_LEVEL_AWAIT = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)


def cell_filename(execution_count):
    return "<cell In[%d]>" % execution_count


class PlainShell(object):
    def __init__(self, module, execution_count):
        self.module = module
        self.ns = module.__dict__
        self.execution_count = execution_count
        self._loop = None
        self.last_error = None
        self.ns.setdefault("__builtins__", builtins)
        builtins.display = rich.display

    def run_cell(self, source, silent=False, store_history=True):
        """Run source in the user namespace; True when it raised nothing."""
        filename = cell_filename(self.execution_count)
        lines = source.splitlines(True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        linecache.cache[filename] = (len(source), None, lines, filename)
        try:
            body, last = self._compile(source, filename)
        except (SyntaxError, ValueError, OverflowError) as e:
            event = error_event(e, filename)
            if isinstance(e, SyntaxError) and (e.text or "").lstrip().startswith(("%", "!")):
                event["traceback"].append(
                    "(IPython magics and !commands need IPython, which is not installed in this "
                    "cell's environment)"
                )
            events.emit(event)
            return False
        try:
            self._run(body)
            if last is not None:
                value = self._run(last[0])
                if value is not None and not silent and not _ends_with_semicolon(source, last[1]):
                    self.ns["_"] = value
                    data, metadata = rich.format_object(value)
                    rich.publish_execute_result(self.execution_count, data, metadata)
        except BaseException as e:  # KeyboardInterrupt and SystemExit are the cell's errors too
            self.report_error(e, filename)
            return False
        finally:
            if self._loop is not None:
                self._loop.close()
                self._loop = None
        return True

    def _compile(self, source, filename):
        flags = ast.PyCF_ONLY_AST | _TOP_LEVEL_AWAIT
        tree = compile(source, filename, "exec", flags, dont_inherit=True)
        last_node = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last_node = tree.body.pop()
        body = compile(tree, filename, "exec", _TOP_LEVEL_AWAIT, dont_inherit=True)
        last = None
        if last_node is not None:
            expr = ast.Expression(last_node.value)
            last = (compile(expr, filename, "eval", _TOP_LEVEL_AWAIT, dont_inherit=True), last_node)
        return body, last

    def _run(self, code):
        result = eval(code, self.ns)
        if code.co_flags & _CO_COROUTINE:
            # Top-level await: the cell's coroutine runs on one event loop per cell.
            if self._loop is None:
                import asyncio

                self._loop = asyncio.new_event_loop()
            result = self._loop.run_until_complete(result)
        return result

    def report_error(self, error, filename):
        self.last_error = error
        events.emit(error_event(error, filename))


def error_event(error, filename=None):
    """An `error` event whose traceback starts at the cell's first frame (runner frames dropped)."""
    tb = error.__traceback__
    if filename is not None:
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
    text = "".join(_format_chain(error, tb, set())).rstrip("\n")
    return {
        "type": "error",
        "ename": type(error).__name__,
        "evalue": _safe_str(error),
        "traceback": text.split("\n"),
    }


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _format_chain(error, tb, seen):
    """Like traceback.format_exception, with the first traceback trimmed and hidden frames left out."""
    seen.add(id(error))
    chunks = []
    cause, context = error.__cause__, error.__context__
    if cause is not None and id(cause) not in seen:
        chunks += _format_chain(cause, cause.__traceback__, seen) + [_CAUSE]
    elif context is not None and not error.__suppress_context__ and id(context) not in seen:
        chunks += _format_chain(context, context.__traceback__, seen) + [_CONTEXT]
    frames = _visible_frames(tb) if tb is not None and not isinstance(error, SyntaxError) else []
    if frames:
        chunks.append("Traceback (most recent call last):\n")
        chunks += traceback.format_list(frames)
    return chunks + traceback.format_exception_only(type(error), error)


def _visible_frames(tb):
    """The frames to show, without those that set __tracebackhide__ (the runner's input())."""
    frames = traceback.extract_tb(tb)
    hidden = []
    while tb is not None:
        hidden.append(bool(tb.tb_frame.f_locals.get("__tracebackhide__")))
        tb = tb.tb_next
    return traceback.StackSummary.from_list([f for f, h in zip(frames, hidden) if not h])


def _safe_str(error):
    try:
        return str(error)
    except Exception:
        return "<unprintable %s>" % type(error).__name__


def _ends_with_semicolon(source, node):
    """IPython's rule: a trailing ';' on the last expression suppresses its output."""
    end_line = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return source.rstrip().endswith(";")
    lines = source.splitlines()
    rest = lines[end_line - 1].encode("utf-8")[end_col:].decode("utf-8", "replace")
    rest = rest.split("#", 1)[0].strip()
    return rest.startswith(";")
