"""How the server, the supervisor and the worker talk (docs/allocation.md).

Server → supervisor: JSON files in the allocation's requests/ directory, named
`<sortable id>-<kind>.json` and renamed into place whole (temporary names end in .tmp and are
skipped). The supervisor reads them in name order and removes each once read.
Supervisor → server: one JSON event per line appended to the allocation's events.jsonl (the
same single-write O_APPEND discipline as a cell's events file); answers to completion and
inspection requests as files in replies/.
Supervisor ↔ worker: JSON lines over two pipes.
"""
import json
import os
import re
import time

from ..events import EventWriter, encode_line

_REQUEST_NAME = re.compile(r"^[0-9A-Za-z_-]+\.json$")


def read_requests(requests_dir):
    """The requests waiting now, oldest first, each removed once read: [(name, dict)]. A file that
    is not a JSON object is reported as {"kind": "unreadable", ...} so that it is said, not lost."""
    try:
        names = sorted(e.name for e in os.scandir(requests_dir) if _REQUEST_NAME.match(e.name))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        path = os.path.join(requests_dir, name)
        try:
            with open(path, "r", encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        try:
            os.remove(path)
        except OSError:
            pass
        try:
            request = json.loads(text)
            if not isinstance(request, dict) or not isinstance(request.get("kind"), str):
                raise ValueError("not an object with a kind")
        except ValueError as e:
            request = {"kind": "unreadable", "name": name, "error": str(e)}
        found.append((name, request))
    return found


def write_reply(replies_dir, reply_id, reply):
    """An answer the server is waiting for, renamed into place whole (0600)."""
    if not re.match(r"^[0-9A-Za-z_-]+$", str(reply_id)):
        return
    path = os.path.join(replies_dir, "%s.json" % reply_id)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, encode_line(reply))
    finally:
        os.close(fd)
    os.replace(tmp, path)


class AllocationEvents(object):
    """The allocation's own events file: every line carries the time it was written."""

    def __init__(self, path):
        self.writer = EventWriter(path)

    def emit(self, event_type, **fields):
        fields["type"] = event_type
        fields.setdefault("time", time.time())
        self.writer.emit(fields)


class LinePipe(object):
    """JSON lines over a pair of file descriptors (read end, write end)."""

    def __init__(self, read_fd, write_fd):
        self.reader = os.fdopen(read_fd, "rb", buffering=0) if read_fd is not None else None
        self.write_fd = write_fd
        self._buffer = b""

    def send(self, message):
        line = encode_line(message)
        view = memoryview(line)
        while view:
            view = view[os.write(self.write_fd, view):]

    def receive(self):
        """The next message; None at end of file (the other side is gone)."""
        while b"\n" not in self._buffer:
            chunk = os.read(self.reader.fileno(), 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line.decode("utf-8"))
        except ValueError:
            return {"op": "garbled", "text": line[:200].decode("utf-8", "replace")}
        return message if isinstance(message, dict) else {"op": "garbled", "text": repr(message)[:200]}
