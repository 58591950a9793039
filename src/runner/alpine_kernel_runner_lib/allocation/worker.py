"""The allocation's worker: the Python that runs the cells, one at a time, with their namespace in
memory (started by the supervisor, never by the server).

    alpine_kernel_runner.py --worker --control-in FD --control-out FD --namespace PATH
        --generation N [--fresh]

Its main thread runs cells (SIGINT → KeyboardInterrupt in the cell, like ipykernel); a control
thread reads the supervisor's commands, and saves and completions run in threads of their own,
so that the namespace can be saved ahead of the allocation's time limit while a cell still runs.
"""
import importlib.util
import os
import queue
import signal
import sys
import threading
import time
import traceback
import types

from .. import events, mpl_hook
from ..main import _prepare_sys_path
from ..streams import EventStream
from . import cell_run, introspect, snapshot
from .channel import LinePipe


def _create_shell(module, have_ipython):
    """IPython's shell when importable (with jedi for completion: the worker starts once), else
    the stdlib shell."""
    if have_ipython:
        from .. import fast_ipython

        try:
            fast_ipython.prepare()
            if "jedi" in sys.modules and sys.modules["jedi"] is None:
                del sys.modules["jedi"]  # completion here uses it: the import is paid once
            try:
                from ..ipython_shell import IPythonRunner, StdinNotImplementedError

                return IPythonRunner(module, 0), StdinNotImplementedError
            finally:
                fast_ipython.finish()
        except Exception as e:
            sys.stderr.write("alpine-kernel: IPython is installed but failed to start (%s: %s); "
                             "running cells without it\n" % (type(e).__name__, e))
            sys.modules["__main__"] = module
    from ..plain_shell import PlainShell
    from ..stdin import StdinNotImplementedError

    return PlainShell(module, 0), StdinNotImplementedError


class Worker(object):
    def __init__(self, snapshot_path, generation, pipe):
        self.snapshot_path = snapshot_path
        self.generation = generation
        self.pipe = pipe
        self.send_lock = threading.Lock()
        self.ns_lock = threading.RLock()
        self.have_ipython = importlib.util.find_spec("IPython") is not None
        self.have_dill = importlib.util.find_spec("dill") is not None
        self.module = types.ModuleType("__main__", "The notebook's namespace.")
        sys.modules["__main__"] = self.module
        _prepare_sys_path()
        sys.argv = [sys.argv[0]]
        mpl_hook.install()
        # What a cell prints becomes stream events in its events file (nothing between cells).
        sys.stdout = EventStream("stdout", sys.__stdout__)
        sys.stderr = EventStream("stderr", sys.__stderr__)
        self.shell, self.stdin_error = _create_shell(self.module, self.have_ipython)
        self.dirty = False
        self.running = None
        self.synced = None  # the snapshot's signature when this process last read or wrote it
        self.runs = queue.Queue()

    def send(self, message):
        with self.send_lock:
            self.pipe.send(message)

    def start_event(self):
        return {
            "type": "start",
            "time": time.time(),
            "host": os.environ.get("SLURMD_NODENAME") or os.uname().nodename,
            "pid": os.getpid(),
            "job_id": os.environ.get("SLURM_JOB_ID", ""),
            "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "ipython": self.have_ipython,
            "dill": self.have_dill,
            "allocation": True,
            "generation": self.generation,
        }

    # ------------------------------------------------------------------ the namespace on disk

    def restore(self):
        """At start: every name of the last snapshot. Returns (count, problems)."""
        with self.ns_lock:
            self.synced = snapshot.signature(self.snapshot_path)
            if self.synced is None:
                return 0, {}
            return snapshot.restore_all(self.snapshot_path, self.shell, self.module, self.have_dill)

    def notice_changed_snapshot(self):
        """Before a cell: a per-cell job ran since this process last synced (its results are in
        the snapshot) — load them over the live names."""
        with self.ns_lock:
            now = snapshot.signature(self.snapshot_path)
            if now == self.synced:
                return
            self.synced = now
            if now is None:
                return
            _count, problems = snapshot.restore_all(self.snapshot_path, self.shell, self.module, self.have_dill)
            if problems:
                sys.stderr.write("alpine-kernel: not loaded from the cell that ran as its own job: %s\n"
                                 % snapshot.format_problems(problems))

    def save(self, command):
        """Every carried name → the snapshot. Skipped when nothing ran since the last save, and
        when someone else wrote the snapshot since (a per-cell job: its result must not be lost)."""
        with self.ns_lock:
            if command.get("if_dirty") and not self.dirty:
                return {"skipped": "nothing changed since the last save"}
            if self.synced != snapshot.signature(self.snapshot_path):
                return {"skipped": "the namespace file changed since this process read it"}
            busy = self.running is not None
            result = snapshot.save_all(self.snapshot_path, self.shell, self.module, self.have_dill)
            self.synced = snapshot.signature(self.snapshot_path)
            if not busy:
                self.dirty = False
            result["while_running"] = busy
            return result

    # ------------------------------------------------------------------ commands

    def serve_forever(self):
        threading.Thread(target=self._read_commands, name="alpine-kernel-control", daemon=True).start()
        while True:
            command = self.runs.get()
            if command.get("op") == "exit":
                return
            self.running = command.get("seq")
            self.send({"op": "started", "seq": self.running})
            try:
                ok = cell_run.run_cell(self, command)
            except BaseException as e:  # the worker must outlive anything a cell does
                ok = False
                sys.__stderr__.write("alpine-kernel worker: %s\n" % "".join(
                    traceback.format_exception(type(e), e, e.__traceback__)))
            seq, self.running = self.running, None
            self.send({"op": "done", "seq": seq, "ok": bool(ok)})

    def _read_commands(self):
        saves = _Service("alpine-kernel-save", self._answer_save)
        introspection = _Service("alpine-kernel-introspect", self._answer_introspection)
        # jedi's first completion costs seconds (it loads its own caches): paid now, not on Tab.
        introspection.put({"op": "complete", "code": "import os\nos.pa", "cursor": 15, "id": None})
        while True:
            command = self.pipe.receive()
            if command is None:  # the supervisor is gone: nobody will ever send a cell
                os._exit(0)
            op = command.get("op")
            if op in ("run", "exit"):
                self.runs.put(command)
            elif op == "save":
                saves.put(command)
            elif op in ("complete", "inspect"):
                introspection.put(command)

    def _answer_save(self, command):
        started = time.time()
        try:
            result = self.save(command)
        except BaseException as e:
            result = {"error": "%s: %s" % (type(e).__name__, e)}
        result.update(op="saved", id=command.get("id"), reason=command.get("reason"),
                      seconds=round(time.time() - started, 3))
        self.send(result)

    def _answer_introspection(self, command):
        try:
            if command["op"] == "complete":
                reply = introspect.complete(self.shell, command.get("code", ""), command.get("cursor", 0))
            else:
                reply = introspect.inspect(self.shell, command.get("code", ""), command.get("cursor", 0),
                                           command.get("detail", 0))
        except Exception as e:
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        if command.get("id") is not None:
            reply.update(op="reply", id=command.get("id"))
            self.send(reply)


class _Service(object):
    """One thread that answers one kind of command, in order."""

    def __init__(self, name, answer):
        self.queue = queue.Queue()
        self.answer = answer
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def put(self, command):
        self.queue.put(command)

    def _loop(self):
        while True:
            self.answer(self.queue.get())


def _terminated(_signum, _frame):
    """Slurm's SIGTERM (time limit, scancel, preemption) reaches every process of the job: the
    supervisor saves the namespace through this process first, so it must not die of it."""


def _parse(argv):
    fresh = "--fresh" in argv
    rest = [a for a in argv if a != "--fresh"]
    if len(rest) % 2:
        raise ValueError("options and values do not pair up")
    return dict(zip(rest[0::2], rest[1::2])), fresh


def main(argv):
    try:
        args, fresh = _parse(argv)
        pipe = LinePipe(int(args["--control-in"]), int(args["--control-out"]))
        snapshot_path = args["--namespace"]
        generation = int(args.get("--generation", "1"))
    except (KeyError, ValueError, OSError) as e:
        sys.stderr.write("alpine-kernel worker: bad arguments (%s): %r\n" % (e, argv))
        return 2
    signal.signal(signal.SIGTERM, _terminated)
    cell_run.interrupts(False)
    import faulthandler

    faulthandler.enable(file=sys.__stderr__)  # fd 2: the running cell's .err file
    started = time.time()
    worker = Worker(snapshot_path, generation, pipe)
    restored, problems = (0, {}) if fresh else worker.restore()
    worker.send({
        "op": "ready",
        "pid": os.getpid(),
        "generation": generation,
        "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
        "ipython": worker.have_ipython,
        "dill": worker.have_dill,
        "restored": restored,
        "problems": problems,
        "names": snapshot.carried_names(worker.shell),
        "seconds": round(time.time() - started, 3),
    })
    events.set_writer(None)
    worker.serve_forever()
    return 0
