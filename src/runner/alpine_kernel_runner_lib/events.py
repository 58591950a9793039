"""The events file: one JSON object per line, each line written with a single os.write.

The descriptor is opened with O_APPEND, so lines written by threads or forked children of the cell
never interleave, and a reader that consumes up to the last newline never sees half an event.
"""
import base64
import json
import math
import os

_writer = None


class EventWriter(object):
    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.closed = False
        self._end_torn_line()

    def _end_torn_line(self):
        """A requeued job appends to the events file of its killed run, which may end mid-line:
        start on a line of our own, so the new run's start event is read."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() == 0:
                    return
                f.seek(-1, os.SEEK_END)
                if f.read(1) == b"\n":
                    return
            os.write(self.fd, b"\n")
        except OSError:
            pass

    def emit(self, event):
        if self.closed:
            return
        line = encode_line(event)
        view = memoryview(line)
        # A regular file takes the whole line in one write; the loop only matters on a short write
        # (disk full, a signal on an exotic file system), where finishing the line beats losing it.
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def close(self):
        """Later emits are dropped: nothing may follow the end marker."""
        self.closed = True
        try:
            os.close(self.fd)
        except OSError:
            pass


def encode_line(event):
    """The event as one line of UTF-8 JSON. Raises NotJSONable when part of it cannot be JSON."""
    try:
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(to_json(event), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from undecodable file names) cannot be UTF-8: escape them as \udXXX.
        return (json.dumps(json.loads(text), ensure_ascii=True) + "\n").encode("ascii")


# Deeper than this is refused rather than risk a RecursionError in json or here.
MAX_DEPTH = 200


class NotJSONable(ValueError):
    """A value that cannot become JSON: it contains itself, or it is nested too deeply."""

    def __init__(self, reason, path):
        ValueError.__init__(self, reason)
        self.reason = reason
        self.path = path  # keys from the top, e.g. ["data", "application/json", "self"]


def to_json(value, _path=None, _open=None):
    """What json.dumps cannot take, made JSON: bytes as base64 (how Jupyter carries images),
    non-finite floats as null, unknown objects as their repr. A container that contains itself,
    or nesting deeper than MAX_DEPTH, raises NotJSONable naming where."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        path = [] if _path is None else _path
        open_ = set() if _open is None else _open
        if id(value) in open_:
            raise NotJSONable("it contains itself", list(path))
        if len(path) >= MAX_DEPTH:
            raise NotJSONable("it is nested more than %d levels deep" % MAX_DEPTH, list(path))
        open_.add(id(value))
        try:
            items = value.items() if isinstance(value, dict) else enumerate(value)
            out = [] if not isinstance(value, dict) else {}
            for k, v in items:
                path.append(k)
                converted = to_json(v, path, open_)
                path.pop()
                if isinstance(out, dict):
                    out[str(k)] = converted
                else:
                    out.append(converted)
            return out
        finally:
            open_.discard(id(value))
    try:
        return repr(value)
    except Exception:
        return "<unrepresentable %s>" % type(value).__name__


def format_path(keys):
    """["a", 0] -> '["a"][0]', the way Python would index it."""
    return "".join("[%s]" % (json.dumps(k, ensure_ascii=False) if isinstance(k, str) else k) for k in keys)


def set_writer(writer):
    global _writer
    _writer = writer


def emit(event):
    """Emit through the runner's writer; a no-op outside a runner process."""
    if _writer is not None:
        _writer.emit(event)
