"""The worker as a process: started with posix_spawn in a process group of its own (so that a
restart also ends what its cells started), waited for with wait4 (for its peak memory), and told
apart when it died of the allocation's memory limit (the cgroup's oom_kill counter, where there
is one)."""
import os
import signal
import sys


def _cgroup_memory_events():
    """The memory.events (v2) or memory.oom_control (v1) file of this process's cgroup, if any."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            candidate = "/sys/fs/cgroup%s/memory.events" % path
        elif "memory" in controllers.split(","):
            candidate = "/sys/fs/cgroup/memory%s/memory.oom_control" % path
        else:
            continue
        if os.path.exists(candidate):
            return candidate
    return None


def oom_kills():
    """How many processes the kernel's OOM killer has ended in this cgroup (None: cannot tell)."""
    path = _cgroup_memory_events()
    if not path:
        return None
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        return None
    return None


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "signal %d" % number


class WorkerProcess(object):
    """One worker: its pid, the pipes to it, and how it ended."""

    def __init__(self, runner_path, snapshot_path, generation, fresh):
        to_worker_r, self.to_worker = os.pipe()
        self.from_worker, from_worker_w = os.pipe()
        os.set_inheritable(to_worker_r, True)
        os.set_inheritable(from_worker_w, True)
        argv = [sys.executable, "-u", runner_path, "--worker",
                "--control-in", str(to_worker_r), "--control-out", str(from_worker_w),
                "--namespace", snapshot_path, "--generation", str(generation)]
        if fresh:
            argv.append("--fresh")
        self.oom_before = oom_kills()
        try:
            self.pid = os.posix_spawn(
                sys.executable, argv, os.environ,
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                              (os.POSIX_SPAWN_CLOSE, self.to_worker),
                              (os.POSIX_SPAWN_CLOSE, self.from_worker)],
                setpgroup=0,
            )
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self.generation = generation
        self.ready = False
        self.exit = None  # {"exit_code", "signal", "maxrss_kb", "oom"} once it ended

    def poll(self):
        """The ending, once the process has ended (reaped here); None while it runs."""
        if self.exit is not None:
            return self.exit
        try:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status, usage = self.pid, 0, None
        if pid == 0:
            return None
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        after = oom_kills()
        self.exit = {
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": sig,
            "signal_name": signal_name(sig) if sig else "",
            "maxrss_kb": usage.ru_maxrss if usage is not None else 0,
            "oom": bool(sig == signal.SIGKILL and after is not None and self.oom_before is not None
                        and after > self.oom_before),
        }
        try:
            os.close(self.to_worker)  # the reader of from_worker closes that one at its end of file
        except OSError:
            pass
        return self.exit

    def signal(self, number):
        try:
            os.kill(self.pid, number)
        except ProcessLookupError:
            pass

    def kill_group(self):
        """SIGKILL to the worker and everything its cells started."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            self.signal(signal.SIGKILL)
