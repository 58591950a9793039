"""The holder job's main process (`%slurm allocate`): it reads the server's requests, runs them
through the worker, restarts the worker when it dies, saves the namespace ahead of the end, and
writes what happened to the allocation's events file (docs/allocation.md).

    alpine_kernel_runner.py --supervise --dir ALLOCATION_DIR --namespace PATH

Stdlib only and light: it never imports IPython or the user's modules, so that it survives
whatever a cell does to the worker.
"""
import os
import queue
import signal
import socket
import sys
import threading
import time

from .channel import AllocationEvents, LinePipe, read_requests, write_reply
from .process import WorkerProcess

# The request directory is looked at this often right after anything happened, then less often.
POLL_ACTIVE_SECONDS = 0.005
POLL_IDLE_SECONDS = 0.02
ACTIVE_FOR_SECONDS = 30.0
# A cell that does not stop on its own after a cancel (the second interrupt): the worker goes.
CANCEL_GRACE_SECONDS = 10.0
# A worker that dies this many times before it is ready starts without the snapshot.
START_FAILURES_BEFORE_FRESH = 2


class Supervisor(object):
    def __init__(self, alloc_dir, snapshot_path, runner_path):
        self.requests_dir = os.path.join(alloc_dir, "requests")
        self.replies_dir = os.path.join(alloc_dir, "replies")
        for d in (self.requests_dir, self.replies_dir):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.events = AllocationEvents(os.path.join(alloc_dir, "events.jsonl"))
        self.snapshot_path = snapshot_path
        self.runner_path = runner_path
        self.inbox = queue.Queue()
        self.worker = None
        self.pipe = None
        self.generation = 0
        self.start_failures = 0
        self.pending = []  # cell requests waiting for the worker
        self.running = None  # the cell request the worker runs
        self.kill_at = None  # a cancelled cell's deadline
        self.saves = {}  # save id → reason, waiting for the worker's answer
        self.deadline = None  # (end epoch, save ahead seconds)
        self.deadline_done = False
        self.ending = None  # why the supervisor is ending; set once
        self.exit_after_save = None  # the save id whose answer ends the allocation
        self.last_activity = time.time()
        self.flags = set()

    # ------------------------------------------------------------------ the worker

    def start_worker(self, fresh=False):
        self.generation += 1
        self.worker = WorkerProcess(self.runner_path, self.snapshot_path, self.generation,
                                    fresh or self.start_failures >= START_FAILURES_BEFORE_FRESH)
        self.pipe = LinePipe(None, self.worker.to_worker)
        threading.Thread(target=self._read_worker, args=(self.worker,), daemon=True,
                         name="alpine-kernel-worker-%d" % self.generation).start()

    def _read_worker(self, worker):
        pipe = LinePipe(worker.from_worker, None)
        while True:
            message = pipe.receive()
            if message is None:
                pipe.reader.close()
                self.inbox.put((worker, {"op": "eof"}))
                return
            self.inbox.put((worker, message))

    def send(self, message):
        if self.worker is None or self.worker.exit is not None:
            return False
        try:
            self.pipe.send(message)
            return True
        except OSError:
            return False

    def on_worker_message(self, worker, message):
        if worker is not self.worker:
            return  # a message of a worker already replaced
        op = message.get("op")
        if op == "ready":
            worker.ready = True
            self.start_failures = 0
            fields = dict((k, v) for k, v in message.items() if k != "op")
            self.events.emit("worker", **fields)
            self.dispatch()
        elif op == "started":
            self.events.emit("cell", seq=message.get("seq"), generation=worker.generation)
        elif op == "done":
            self.events.emit("done", seq=message.get("seq"), ok=bool(message.get("ok")))
            self.running, self.kill_at = None, None
            self.dispatch()
        elif op == "saved":
            self.on_saved(message)
        elif op == "reply":
            reply_id = message.pop("id", None)
            message.pop("op", None)
            write_reply(self.replies_dir, reply_id, message)
        elif op == "eof":
            self.reap(wait=True)

    def reap(self, wait=False, restart=True):
        """The worker ended: say so, end its cell, answer what waited on it, start another."""
        worker = self.worker
        if worker is None:
            return
        deadline = time.time() + (5 if wait else 0)
        ended = worker.poll()
        while ended is None and time.time() < deadline:
            time.sleep(0.01)
            ended = worker.poll()
        if ended is None:
            return
        seq = self.running.get("seq") if self.running else None
        during = "cell" if seq is not None else ("idle" if worker.ready else "start")
        self.events.emit("died", generation=worker.generation, seq=seq, during=during,
                         cancelled=self.kill_at is not None and seq is not None, **ended)
        if not worker.ready:
            self.start_failures += 1
        self.worker, self.running, self.kill_at = None, None, None
        for save_id, reason in list(self.saves.items()):
            self.events.emit("saved", id=save_id, reason=reason, error="the Python process ended first")
        self.saves.clear()
        if restart and self.ending is None:
            self.start_worker()

    def dispatch(self):
        if self.running is not None or not self.pending or self.worker is None or not self.worker.ready:
            return
        request = self.pending.pop(0)
        request["op"] = "run"
        if self.send(request):
            self.running = request

    # ------------------------------------------------------------------ saving

    def save(self, save_id, reason, if_dirty=True):
        if self.worker is None or not self.worker.ready:
            self.events.emit("saved", id=save_id, reason=reason, skipped="no Python is running in the allocation")
            return False
        self.saves[save_id] = reason
        self.send({"op": "save", "id": save_id, "reason": reason, "if_dirty": if_dirty})
        return True

    def on_saved(self, message):
        save_id = message.get("id")
        self.saves.pop(save_id, None)
        fields = dict((k, v) for k, v in message.items() if k not in ("op", "names"))
        if "names" in message:
            fields["count"] = len(message["names"])
        self.events.emit("saved", **fields)
        if save_id is not None and save_id == self.exit_after_save:
            self.finish()

    # ------------------------------------------------------------------ requests

    def on_request(self, request):
        kind = request.get("kind")
        self.last_activity = time.time()
        if kind == "cell":
            self.pending.append(request)
            self.dispatch()
        elif kind in ("interrupt", "cancel"):
            self.stop_cell(request.get("seq"), cancel=kind == "cancel", grace=request.get("grace"))
        elif kind == "save":
            self.save(request.get("id"), request.get("reason") or "asked", bool(request.get("if_dirty", True)))
        elif kind == "deadline":
            self.deadline = (float(request["end"]), float(request.get("save_ahead", 120)))
            self.deadline_done = False
        elif kind == "release":
            self.end("released", save=bool(request.get("save", True)))
        elif kind == "reset":
            self.reset()
        elif kind in ("complete", "inspect"):
            if not self.send(dict(request, op=kind)):
                write_reply(self.replies_dir, request.get("id"), {"error": "no Python is running in the allocation"})
        else:
            self.events.emit("bad_request", request=request)

    def stop_cell(self, seq, cancel, grace=None):
        for request in self.pending:
            if request.get("seq") == seq:
                self.pending.remove(request)
                self.events.emit("withdrawn", seq=seq)
                return
        if self.running is None or self.running.get("seq") != seq:
            return
        self.worker.signal(signal.SIGINT)
        self.events.emit("interrupted", seq=seq)
        if cancel and self.kill_at is None:
            self.kill_at = time.time() + float(grace if grace is not None else CANCEL_GRACE_SECONDS)

    def reset(self):
        """A kernel restart: a fresh worker with an empty namespace; waiting cells stay queued."""
        if self.worker is not None:
            self.worker.kill_group()
            self.reap(wait=True, restart=False)
        self.events.emit("reset")
        if self.ending is None:
            self.start_worker(fresh=True)

    def end(self, reason, save):
        if self.ending is not None:
            return
        self.ending = reason
        self.events.emit("ending", reason=reason)
        for request in self.pending:
            self.events.emit("withdrawn", seq=request.get("seq"))
        self.pending = []
        if save and self.save("final", "the allocation is ending"):
            self.exit_after_save = "final"
        else:
            self.finish()

    def finish(self):
        if self.worker is not None:
            self.send({"op": "exit"})
            deadline = time.time() + 5
            while self.worker.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            if self.worker.poll() is None:
                self.worker.kill_group()
        self.events.emit("exit", reason=self.ending)
        raise SystemExit(0)

    # ------------------------------------------------------------------ the loop

    def timers(self):
        now = time.time()
        if self.kill_at is not None and now >= self.kill_at and self.worker is not None:
            self.kill_at = now + 3600  # once
            self.worker.kill_group()
        if self.deadline and not self.deadline_done and now >= self.deadline[0] - self.deadline[1]:
            self.deadline_done = True
            self.save("ahead-%d" % int(now), "ahead of the time limit")
        if "usr1" in self.flags:
            self.flags.discard("usr1")
            self.save("signal-%d" % int(now), "ahead of the time limit (Slurm's --signal)")
        if "term" in self.flags:
            self.flags.discard("term")
            self.end("the job was told to stop (time limit, scancel or preemption)", save=True)

    def run(self):
        self.events.emit(
            "supervisor",
            pid=os.getpid(),
            host=os.environ.get("SLURMD_NODENAME") or socket.gethostname(),
            job_id=os.environ.get("SLURM_JOB_ID", ""),
            python="%d.%d.%d" % tuple(sys.version_info[:3]),
        )
        self.start_worker()
        while True:
            active = time.time() - self.last_activity < ACTIVE_FOR_SECONDS
            try:
                worker, message = self.inbox.get(timeout=POLL_ACTIVE_SECONDS if active else POLL_IDLE_SECONDS)
                self.on_worker_message(worker, message)
                while True:
                    worker, message = self.inbox.get_nowait()
                    self.on_worker_message(worker, message)
            except queue.Empty:
                pass
            if self.worker is not None and self.worker.poll() is not None:
                self.reap()
            for _name, request in read_requests(self.requests_dir):
                self.on_request(request)
            self.timers()


def _flag(supervisor, name):
    def handler(_signum, _frame):
        supervisor.flags.add(name)

    return handler


def _parse(argv):
    if len(argv) % 2:
        raise ValueError("options and values do not pair up")
    args = dict(zip(argv[0::2], argv[1::2]))
    return args["--dir"], args["--namespace"]


def main(argv, runner_path):
    try:
        alloc_dir, snapshot_path = _parse(argv)
    except (KeyError, ValueError) as e:
        sys.stderr.write("alpine-kernel supervisor: bad arguments (%s): %r\n" % (e, argv))
        return 2
    os.umask(0o077)
    supervisor = Supervisor(alloc_dir, snapshot_path, runner_path)
    signal.signal(signal.SIGUSR1, _flag(supervisor, "usr1"))
    signal.signal(signal.SIGTERM, _flag(supervisor, "term"))
    signal.signal(signal.SIGINT, lambda _s, _f: None)  # an interrupt is for the worker's cell
    try:
        supervisor.run()
    except SystemExit as e:
        return e.code or 0
    return 0
