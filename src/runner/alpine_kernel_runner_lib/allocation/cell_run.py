"""One cell in the allocation's worker, through the same contract as a per-cell job
(docs/cell-runner.md): start, the cell's output, its namespace's names, end — in the cell's own
events file; what bypasses sys.stdout/sys.stderr (subprocesses, C code, faulthandler) in the
cell's own .out/.err files, because fds 1 and 2 point there while it runs.
"""
import os
import signal
import sys
import time

from .. import events, mpl_hook, stdin
from ..main import _maxrss_kb, _report_runner_exception
from . import snapshot


def _ignore_interrupt(_signum, _frame):
    """Between cells an interrupt has nothing to stop (a handler, not SIG_IGN: subprocesses of
    later cells must not inherit an ignored SIGINT)."""


def interrupts(allowed):
    signal.signal(signal.SIGINT, signal.default_int_handler if allowed else _ignore_interrupt)


class _Redirected(object):
    """fds 1 and 2 to the cell's .out/.err for as long as it runs, then back."""

    def __init__(self, stdout_path, stderr_path):
        self.paths = ((1, stdout_path), (2, stderr_path))
        self.saved = []

    def __enter__(self):
        for fd, path in self.paths:
            if not path:
                continue
            target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.saved.append((fd, os.dup(fd)))
            os.dup2(target, fd)
            os.close(target)
        return self

    def __exit__(self, *exc):
        for fd, copy in self.saved:
            os.dup2(copy, fd)
            os.close(copy)
        self.saved = []


def run_cell(worker, request):
    """Runs one cell request; True when the cell succeeded."""
    writer = events.EventWriter(request["events"])
    events.set_writer(writer)
    ok = False
    try:
        with _Redirected(request.get("stdout"), request.get("stderr")):
            events.emit(worker.start_event())
            try:
                ok = _run(worker, request)
            except BaseException as e:  # an interrupt between the steps, or a bug here
                interrupts(False)
                _report_runner_exception(e)
                ok = False
            finally:
                interrupts(False)
                events.emit({"type": "end", "status": "ok" if ok else "error", "time": time.time(),
                             "maxrss_kb": _maxrss_kb()})
    finally:
        writer.close()
        events.set_writer(None)
    return ok


def _run(worker, request):
    with open(request["code"], "r", encoding="utf-8-sig") as f:
        source = f.read()
    shell = worker.shell
    stdin.install(stdin.InputChannel(request["events"], bool(request.get("allow_stdin")), worker.stdin_error))
    if hasattr(shell, "shell"):
        shell.shell.execution_count = int(request.get("execution_count") or 0)
    else:
        shell.execution_count = int(request.get("execution_count") or 0)
    worker.notice_changed_snapshot()
    interrupts(True)
    ok = shell.run_cell(source, silent=bool(request.get("silent")),
                        store_history=bool(request.get("store_history", True)))
    try:
        mpl_hook.flush_figures()
    except BaseException as e:
        _report_runner_exception(e)
        ok = False
    interrupts(False)
    worker.dirty = True
    # The names the cell left (for completion and %who): nothing is written, the values stay here
    # (no "bytes": the store on disk is as it was).
    events.emit({"type": "namespace", "saved": 0, "skipped": {}, "seconds": 0,
                 "names": snapshot.carried_names(shell), "live": True})
    sys.stdout.flush()
    return ok
