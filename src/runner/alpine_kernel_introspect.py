"""alpine-kernel's introspection helper: completion and inspection for one notebook session, run in
the cells' own environment (their Python, their packages) on the cluster, with jedi.

One long-lived, low-priority process per session (docs/introspection.md). Requests and replies are
JSON lines on stdin/stdout; it exits when its input ends. It never sees the namespace's values: the
server tells it each name's type (as the cell runner reported it) and the cells' code, and it builds
a stand-in: modules are imported for real, a name holding an instance of an importable class is
annotated with that class, and functions and classes defined in cells come from their source.

    -> {"id": 1, "op": "context", "modules": {"np": "numpy"}, "types": {"df": "pandas.core.frame:DataFrame"}, "cells": ["..."]}
    -> {"id": 2, "op": "complete", "code": "df.gr", "cursor": 5}
    <- {"id": 2, "matches": ["groupby"], "start": 3, "end": 5, "types": [{"text": "groupby", "type": "function", ...}]}
    -> {"id": 3, "op": "inspect", "code": "len(", "cursor": 4, "detail": 0}
    <- {"id": 3, "found": true, "data": {"text/plain": "Signature: len(obj, /)..."}}
"""
import ctypes
import json
import os
import platform
import select
import sys
import threading

_proto = None  # the protocol's own copy of stdout: stray prints from imported modules go to stderr


_emit_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj) + "\n"
    with _emit_lock:
        _proto.write(line)
        _proto.flush()


def main():
    global _proto
    _proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:  # a login node is everyone's: completion yields to their work
        os.nice(int(sys.argv[sys.argv.index("--nice") + 1]) if "--nice" in sys.argv[:-1] else 19)
    except (AttributeError, OSError, ValueError):
        pass
    try:
        import jedi
    except Exception as e:  # noqa: BLE001 -- any import failure means no jedi here
        emit({"ready": False, "error": "jedi cannot be imported in the cells' environment (%s: %s); "
              "install it there (conda install jedi) for completion" % (type(e).__name__, e)})
        return 3
    from alpine_kernel_runner_lib import introspection

    jedi.settings.case_insensitive_completion = False  # as IPython sets it
    session = introspection.Session(jedi)
    emit({"ready": True, "jedi": jedi.__version__, "python": platform.python_version()})
    jedi_worker = JediWorker(session)
    for batch in _request_batches():
        for request in batch:
            if not isinstance(request, dict):
                emit({"id": None, "error": "not a JSON object request"})
                continue
            try:
                reply = session.quick(request) if request.get("op") != "context" else session.handle(request)
            except Exception as e:  # noqa: BLE001 -- one bad request must not end the helper
                reply = {"error": "%s: %s" % (type(e).__name__, e)}
            if reply is None:
                jedi_worker.submit(request)
            else:
                if request.get("op") != "context":
                    jedi_worker.interrupt()
                reply["id"] = request.get("id")
                emit(reply)
    return 0


class Stale(Exception):
    """Raised in the jedi thread when a newer request makes its work pointless."""


class JediWorker:
    """jedi's answers, in a thread of their own: a slow one (0.2-3 s) never holds up the quick
    answers. A newer request ends the one jedi is working on (the kernel answered it without the
    helper by then, or the user typed on): it is stopped, not left to hold the interpreter."""

    def __init__(self, session):
        self.session = session
        self.waiting = None
        self.busy = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self.run, name="jedi", daemon=True)
        self.thread.start()

    def submit(self, request):
        with self.cond:
            if self.waiting is not None:
                emit({"id": self.waiting.get("id"), "stale": True})
            self.waiting = request
            self.cond.notify()
        self.interrupt()

    def interrupt(self):
        """Stops the request jedi is working on now, if any."""
        with self.cond:
            if self.busy is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread.ident), ctypes.py_object(Stale)
                )
                self.busy = None

    def run(self):
        while True:
            try:
                with self.cond:
                    while self.waiting is None:
                        self.cond.wait()
                    request, self.waiting = self.waiting, None
                    self.busy = request
                try:
                    reply = self.session.handle(request)
                except Stale:
                    reply = {"stale": True}
                except Exception as e:  # noqa: BLE001 -- one bad request must not end the helper
                    reply = {"error": "%s: %s" % (type(e).__name__, e)}
                with self.cond:
                    self.busy = None
                reply["id"] = request.get("id")
                emit(reply)
            except Stale:
                continue  # it arrived just after the work was done: nothing to stop


def _request_batches():
    """The requests waiting on stdin, as lists: blocks for the first, then takes all that are there."""
    buffered = b""
    while True:
        ready = [0]
        while ready:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return
            buffered += chunk
            ready, _, _ = select.select([0], [], [], 0)
        *lines, buffered = buffered.split(b"\n")
        batch = []
        for line in lines:
            if not line.strip():
                continue
            try:
                batch.append(json.loads(line.decode("utf-8")))
            except ValueError as e:
                emit({"id": None, "error": "not a JSON request: %s" % e})
        if batch:
            yield batch


if __name__ == "__main__":
    sys.exit(main())
