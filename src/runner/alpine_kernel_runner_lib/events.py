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
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
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
    try:
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = json.dumps(to_json(event), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from undecodable file names) cannot be UTF-8: escape them as \udXXX.
        return (json.dumps(json.loads(text), ensure_ascii=True) + "\n").encode("ascii")


def to_json(value):
    """What json.dumps cannot take, made JSON: bytes as base64 (how Jupyter carries images),
    non-finite floats as null, unknown objects as their repr."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return dict((str(k), to_json(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    try:
        return repr(value)
    except Exception:
        return "<unrepresentable %s>" % type(value).__name__


def set_writer(writer):
    global _writer
    _writer = writer


def emit(event):
    """Emit through the runner's writer; a no-op outside a runner process."""
    if _writer is not None:
        _writer.emit(event)
