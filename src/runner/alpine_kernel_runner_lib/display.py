"""Rich display without IPython: mime bundles from _repr_*_ methods, a display() builtin,
display handles, and the display_data / update_display_data / clear_output events.

With IPython, IPython's own formatter and display() are used; both paths publish through
publish_display_data, which is also what the matplotlib backend calls.
"""
import base64
import sys

from . import events

# (method, mime type) in the order IPython's DisplayFormatter tries them. Binary results (png,
# jpeg, pdf as bytes) are base64-encoded when published; a str is taken as already encoded.
_REPR_METHODS = (
    ("_repr_html_", "text/html"),
    ("_repr_markdown_", "text/markdown"),
    ("_repr_svg_", "image/svg+xml"),
    ("_repr_png_", "image/png"),
    ("_repr_pdf_", "application/pdf"),
    ("_repr_jpeg_", "image/jpeg"),
    ("_repr_latex_", "text/latex"),
    ("_repr_json_", "application/json"),
    ("_repr_javascript_", "application/javascript"),
)


# (class, mime type, function) added by register_formatter, e.g. matplotlib figures as PNG.
_formatters = []


def register_formatter(cls, mime, func):
    """Like IPython's formatters[mime].for_type(cls, func): func(obj) gives the data or None."""
    _formatters.append((cls, mime, func))


def publish_display_data(data, metadata=None, transient=None, update=False):
    _publish(
        {
            "type": "update_display_data" if update else "display_data",
            "data": _encode_binary(data),
            "metadata": metadata or {},
            "transient": transient or {},
        }
    )


def publish_execute_result(execution_count, data, metadata=None):
    _publish(
        {
            "type": "execute_result",
            "execution_count": execution_count,
            "data": _encode_binary(data),
            "metadata": metadata or {},
        }
    )


def _publish(event):
    """Emits a display event; a format (or the metadata) that cannot be JSON — it contains
    itself, or is nested too deeply — is left out, and a warning on stderr says which and why.
    Before, such a bundle failed the cell with an unexplained RecursionError."""
    try:
        events.emit(event)
        return
    except events.NotJSONable:
        pass
    what = "the result" if event["type"] == "execute_result" else "a display"
    problems = []
    for mime in list(event["data"]):
        problem = _not_jsonable(event["data"][mime])
        if problem:
            del event["data"][mime]
            problems.append(("the %s" % mime, problem))
    for field in ("metadata", "transient"):
        problem = _not_jsonable(event.get(field))
        if problem:
            event[field] = {}
            problems.append(("the %s" % field, problem))
    shown = ", ".join(sorted(event["data"])) or "nothing"
    for part, problem in problems:
        sys.stderr.write(
            "alpine-kernel: could not display %s of %s: %s%s; shown: %s\n"
            % (part, what, problem.reason, _where(problem.path), shown)
        )
    if event["data"]:
        events.emit(event)


def _not_jsonable(value):
    try:
        events.to_json(value)
    except events.NotJSONable as e:
        return e
    return None


def _where(path):
    if not path:
        return ""
    shown = events.format_path(path[:6]) + ("..." if len(path) > 6 else "")
    return " (at %s)" % shown


def clear_output(wait=False):
    events.emit({"type": "clear_output", "wait": bool(wait)})


def _encode_binary(data):
    # Jupyter carries binary mime types base64-encoded; IPython formatters may hand us raw bytes.
    out = {}
    for mime, value in data.items():
        if isinstance(value, (bytes, bytearray)):
            value = base64.b64encode(bytes(value)).decode("ascii")
        out[mime] = value
    return out


def format_object(obj, include=None, exclude=None):
    """(data, metadata) for obj, the way IPython's DisplayFormatter builds it (repr for text/plain)."""
    data, metadata = {}, {}
    # Classes have unbound _repr_*_ methods, and objects that answer every attribute (mocks,
    # proxies) would answer these too: IPython's canary check.
    if not isinstance(obj, type) and not _has_attribute(obj, "_ipython_canary_method_should_not_exist_"):
        bundle = _call_repr(obj, "_repr_mimebundle_", include=include, exclude=exclude)
        if isinstance(bundle, tuple) and len(bundle) == 2:
            bundle, md = bundle
            if isinstance(md, dict):
                metadata.update(md)
        if isinstance(bundle, dict):
            data.update(bundle)
        for cls, mime, func in _formatters:
            if mime not in data and isinstance(obj, cls) and _wanted(mime, include, exclude):
                value = _call_formatter(func, obj)
                if value is not None:
                    data[mime] = value
        for method, mime in _REPR_METHODS:
            if mime in data or not _wanted(mime, include, exclude):
                continue
            value = _call_repr(obj, method)
            if isinstance(value, tuple) and len(value) == 2:
                value, md = value
                if md is not None:
                    metadata[mime] = md
            if value is None:
                continue
            data[mime] = value
    if "text/plain" not in data and _wanted("text/plain", include, exclude):
        data["text/plain"] = _safe_repr(obj)
    return data, metadata


def _wanted(mime, include, exclude):
    return (include is None or mime in include) and not (exclude and mime in exclude)


def _has_attribute(obj, name):
    try:
        return hasattr(obj, name)
    except Exception:
        return False


def _call_repr(obj, method, **kwargs):
    try:
        func = getattr(obj, method, None)
        if func is None or not callable(func):
            return None
        return func(**kwargs) if kwargs else func()
    except Exception as e:
        sys.stderr.write(
            "alpine-kernel: %s.%s() failed: %s: %s\n" % (type(obj).__name__, method, type(e).__name__, e)
        )
        return None


def _call_formatter(func, obj):
    try:
        return func(obj)
    except Exception as e:
        sys.stderr.write("alpine-kernel: formatting %s failed: %s: %s\n" % (type(obj).__name__, type(e).__name__, e))
        return None


def _safe_repr(obj):
    try:
        return repr(obj)
    except Exception as e:
        return "<%s object (repr failed: %s: %s)>" % (type(obj).__name__, type(e).__name__, e)


def _new_display_id():
    import uuid  # not at startup: it is one of the slower stdlib imports

    return uuid.uuid4().hex


class DisplayHandle(object):
    """What display(..., display_id=...) returns; update() replaces the output in place."""

    def __init__(self, display_id=None):
        self.display_id = display_id or _new_display_id()

    def __repr__(self):
        return "<DisplayHandle display_id=%s>" % self.display_id

    def display(self, obj, **kwargs):
        display(obj, display_id=self.display_id, **kwargs)

    def update(self, obj, **kwargs):
        display(obj, display_id=self.display_id, update=True, **kwargs)


def display(
    *objs,
    include=None,
    exclude=None,
    metadata=None,
    transient=None,
    display_id=None,
    raw=False,
    clear=False,
    update=False,
    **kwargs
):
    """The display() builtin of the plain (no IPython) executor; same signature as IPython's."""
    if clear:
        clear_output(wait=True)
    if display_id is True:
        display_id = _new_display_id()
    if update and not display_id:
        raise TypeError("display_id required for update")
    transient = dict(transient or {})
    if display_id:
        transient["display_id"] = display_id
    for obj in objs:
        if raw:
            data, md = obj, {}
        else:
            data, md = format_object(obj, include, exclude)
        if metadata:
            md = dict(md, **metadata)
        if data:
            publish_display_data(data, md, transient, update)
    if display_id and not update:
        return DisplayHandle(display_id)
    return None


def update_display(obj, display_id, **kwargs):
    kwargs["update"] = True
    display(obj, display_id=display_id, **kwargs)
