"""input() and getpass.getpass() through the file system.

The runner emits {"type": "input_request", "seq": N, ...} and polls every 50 ms for the reply file
EVENTS.input.N, which the server writes atomically: {"value": "text"} or {"error": "message"}.
The reply file is deleted as soon as it is read: a getpass() answer never stays on disk.
Without --allow-stdin both raise StdinNotImplementedError at once: a cell never hangs on input.
"""
import builtins
import json
import os
import time

from . import events

POLL_SECONDS = 0.05
NO_STDIN_MESSAGE = "%s is not available: this frontend does not accept input requests"


class StdinNotImplementedError(NotImplementedError):
    """Raised by input() when the frontend does not accept input requests (IPython's own class is
    used instead when IPython runs the cell, as ipykernel does)."""


class InputChannel(object):
    def __init__(self, events_path, allow_stdin, error_class):
        self.events_path = events_path
        self.allow_stdin = allow_stdin
        self.error_class = error_class
        self.seq = 0

    def request(self, prompt, password, what):
        __tracebackhide__ = True  # noqa: F841  (IPython and the plain shell hide runner frames)
        if not self.allow_stdin:
            raise self.error_class(NO_STDIN_MESSAGE % what)
        self.seq += 1
        events.emit({"type": "input_request", "seq": self.seq, "prompt": prompt, "password": password})
        reply = self._wait_for_reply("%s.input.%d" % (self.events_path, self.seq))
        if "error" in reply:
            raise EOFError(str(reply["error"]))
        value = reply.get("value", "")
        return value if isinstance(value, str) else str(value)

    def _wait_for_reply(self, path):
        __tracebackhide__ = True  # noqa: F841
        unreadable = 0
        while True:
            try:
                with open(path, "r", encoding="utf-8") as f:
                    text = f.read()
            except FileNotFoundError:
                time.sleep(POLL_SECONDS)
                continue
            try:
                reply = json.loads(text)
                if isinstance(reply, dict):
                    _remove(path)
                    return reply
                raise ValueError("not an object")
            except ValueError:
                # The server renames a complete file into place; tolerate a writer that does not,
                # for a little while, rather than answer with a half-written value.
                unreadable += 1
                if unreadable > 40:
                    _remove(path)
                    raise EOFError("unreadable input reply %s: %r" % (path, text[:200]))
                time.sleep(POLL_SECONDS)

    def input(self, prompt=""):
        __tracebackhide__ = True  # noqa: F841
        return self.request(str(prompt), False, "input()")

    def getpass(self, prompt="Password: ", stream=None):
        __tracebackhide__ = True  # noqa: F841
        return self.request(str(prompt), True, "getpass()")


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass  # already gone; the server also removes answers the runner never read


def install(channel):
    builtins.input = channel.input
    import getpass

    getpass.getpass = channel.getpass
