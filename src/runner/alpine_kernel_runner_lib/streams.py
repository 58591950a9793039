"""sys.stdout / sys.stderr replacements: every write becomes one `stream` event at once.

No buffering and no flush thread: a line printed by a long computation is in the events file
within microseconds, and the server coalesces consecutive stream events.
"""
import codecs
import io

from . import events

# One write of a huge string becomes several events of at most this many characters: a reader
# never has to hold one giant line (print("y" * 10**9) is a gigabyte in one call).
MAX_EVENT_CHARS = 1 << 20


class EventStream(io.TextIOBase):
    """A text stream whose writes are emitted as {"type": "stream", "name": ..., "text": ...}."""

    def __init__(self, name, original):
        super(EventStream, self).__init__()
        self._name = name
        self._original = original
        self.buffer = _EventBuffer(self)

    # Attributes that code written for real streams commonly reads.
    @property
    def name(self):
        return "<%s>" % self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        # The job's own stdout/stderr file (which the server also tails), so that subprocesses
        # given stdout=sys.stdout and faulthandler still reach the notebook.
        if self._original is None:
            raise io.UnsupportedOperation("fileno")
        return self._original.fileno()

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        for start in range(0, len(text), MAX_EVENT_CHARS):
            events.emit({"type": "stream", "name": self._name, "text": text[start : start + MAX_EVENT_CHARS]})
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def close(self):
        # Closing sys.stdout must not break the runner's own reporting: stay open, like ipykernel.
        pass


class _EventBuffer(io.RawIOBase):
    """sys.stdout.buffer: bytes are decoded as UTF-8 (a split character waits for its rest)."""

    def __init__(self, stream):
        super(_EventBuffer, self).__init__()
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        self._stream.write(self._decoder.decode(data))
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass

    def fileno(self):
        return self._stream.fileno()
