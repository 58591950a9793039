"""One cell job: start event, restore namespace, run the cell, emit figures, save namespace, end.

Exit status: 0 the cell succeeded, 1 it raised (after `end`), 2 usage error (no events at all
when the events file itself is unusable).
"""
import importlib.util
import os
import signal
import sys
import time
import types

from . import events, mpl_hook, namespace, stdin, task_names
from .streams import EventStream

EXIT_OK, EXIT_CELL_ERROR, EXIT_USAGE = 0, 1, 2
# After `end`, interpreter shutdown waits for threads the cell left running (and atexit
# handlers), but not for ever: the job would hold its allocation with nothing to show for it.
EXIT_GRACE_SECONDS = 10.0


USAGE = (
    "usage: alpine_kernel_runner.py --code CELL.py --events EVENTS.jsonl --execution-count N "
    "[--namespace-in STORE] [--namespace-out STORE] [--namespace-seed STORE] [--allow-stdin] [--silent] "
    "[--no-store-history] [--env-name NAME=VARIABLE]... [--gather SPEC.json]"
)
_VALUE_OPTIONS = ("code", "events", "execution_count", "namespace_in", "namespace_out", "namespace_seed", "gather")
_LIST_OPTIONS = ("env_name",)
_FLAG_OPTIONS = ("allow_stdin", "silent", "no_store_history")


class _UsageError(Exception):
    pass


def parse_args(argv):
    """The runner's command line (argparse would cost a tenth of the plain runner's startup)."""
    args = types.SimpleNamespace(**dict.fromkeys(_VALUE_OPTIONS + _FLAG_OPTIONS))
    for key in _LIST_OPTIONS:
        setattr(args, key, [])
    items = list(argv)
    while items:
        item = items.pop(0)
        name, has_value, value = item.partition("=")
        key = name[2:].replace("-", "_") if name.startswith("--") else None
        if key in _FLAG_OPTIONS and not has_value:
            setattr(args, key, True)
        elif key in _VALUE_OPTIONS or key in _LIST_OPTIONS:
            if not has_value:
                if not items:
                    raise _UsageError("%s needs a value" % name)
                value = items.pop(0)
            if key in _LIST_OPTIONS:
                getattr(args, key).append(value)
            else:
                setattr(args, key, value)
        else:
            raise _UsageError("unknown argument %r" % item)
    for key in ("code", "events", "execution_count"):
        if getattr(args, key) is None:
            raise _UsageError("--%s is required" % key.replace("_", "-"))
    try:
        args.execution_count = int(args.execution_count)
    except ValueError:
        raise _UsageError("--execution-count must be an integer, not %r" % args.execution_count)
    if args.namespace_in and args.namespace_out:
        if os.path.abspath(args.namespace_in) != os.path.abspath(args.namespace_out):
            raise _UsageError(
                "--namespace-in and --namespace-out must name the same store directory "
                "(a detached cell reads its snapshot with --namespace-in alone)"
            )
    if args.namespace_seed and not args.namespace_out:
        raise _UsageError("--namespace-seed needs --namespace-out: it starts the store written there")
    try:
        args.env_name = task_names.parse(args.env_name)
    except ValueError as e:
        raise _UsageError(str(e))
    return args


def allow_interrupts(allowed):
    """SIGINT raises KeyboardInterrupt (Python's own handler: no runner frame in the traceback)
    while restoring and running the cell; it is ignored while the namespace is saved, so an
    interrupt can neither leave a half-written namespace nor lose the `end` marker."""
    signal.signal(signal.SIGINT, signal.default_int_handler if allowed else signal.SIG_IGN)


def main(argv):
    try:
        args = parse_args(argv)
        with open(args.code, "r", encoding="utf-8-sig") as f:
            source = f.read()
        writer = events.EventWriter(args.events)
    except (_UsageError, OSError, UnicodeDecodeError) as e:
        sys.stderr.write("alpine-kernel runner: %s\n%s\n" % (e, USAGE))
        return EXIT_USAGE
    events.set_writer(writer)
    have_ipython = importlib.util.find_spec("IPython") is not None
    have_dill = importlib.util.find_spec("dill") is not None
    events.emit(
        {
            "type": "start",
            "time": time.time(),
            # Slurm's name for the node (several slurmd may share a host); the host name elsewhere.
            "host": os.environ.get("SLURMD_NODENAME") or os.uname().nodename,
            "pid": os.getpid(),
            # Which job this is: lets the server adopt a job whose sbatch answer it lost.
            "job_id": os.environ.get("SLURM_JOB_ID", ""),
            "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "ipython": have_ipython,
            "dill": have_dill,
        }
    )
    allow_interrupts(True)
    original_streams = (sys.stdout, sys.stderr)
    sys.stdout = EventStream("stdout", sys.__stdout__)
    sys.stderr = EventStream("stderr", sys.__stderr__)
    ok = False
    try:
        ok = run(args, source, have_ipython, have_dill)
    except BaseException as e:  # a runner bug, or an interrupt between the runner's steps
        _report_runner_exception(e)
    finally:
        allow_interrupts(False)
        events.emit({"type": "end", "status": "ok" if ok else "error", "time": time.time(), "maxrss_kb": _maxrss_kb()})
        writer.close()
        sys.stdout, sys.stderr = original_streams
    exit_code = EXIT_OK if ok else EXIT_CELL_ERROR
    _start_shutdown_watchdog(exit_code)
    return exit_code


def _maxrss_kb():
    """Peak memory of the cell's process (and of subprocesses it waited for), KiB on Linux: the
    server shows it as MaxRSS without asking sacct."""
    try:
        import resource

        return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    except (ImportError, OSError):
        return 0


def run(args, source, have_ipython, have_dill):
    """Everything between `start` and `end`; True when the cell succeeded."""
    module = types.ModuleType("__main__", "The notebook's namespace.")
    sys.modules["__main__"] = module
    _prepare_sys_path()
    sys.argv = [sys.argv[0]]
    mpl_hook.install()
    shell, error_class = _create_shell(module, args.execution_count, have_ipython)
    stdin.install(stdin.InputChannel(args.events, args.allow_stdin, error_class))

    store = None
    if args.namespace_in or args.namespace_out:
        store = namespace.Namespace(args.namespace_in, args.namespace_out, have_dill, args.namespace_seed)
        store.open()
        # An interrupt while loading propagates to main(): error + end, and the store is left as it
        # was (nothing is saved).
        problems = store.restore(source, shell.ns, module, shell)
        if problems:
            sys.stderr.write(store.restore_warning(problems))
    task_names.inject(shell.ns, args.env_name)
    if args.gather and not _gather(args.gather, shell.ns, module, have_dill):
        ok = False  # the cell needs what it asked to gather: it does not run without it
    else:
        ok = shell.run_cell(source, silent=args.silent, store_history=not args.no_store_history)
    hint = store.unloaded_hint(getattr(shell, "last_error", None)) if store and not ok else None
    if hint:
        sys.stderr.write(hint)
    try:
        mpl_hook.flush_figures()
    except BaseException as e:
        _report_runner_exception(e)
        ok = False
    allow_interrupts(False)

    if store is not None:
        if args.namespace_out:
            excluded = shell.hidden_names() if hasattr(shell, "hidden_names") else ()
            result = store.save(shell.ns, excluded)
        else:
            result = store.read_only_event()
        if result["skipped"]:
            sys.stderr.write(
                "alpine-kernel: not carried to the next cell: %s\n" % namespace.format_problems(result["skipped"])
            )
        events.emit(result)
    return ok


def _gather(spec_path, ns, module, have_dill):
    """`%slurm gather`: the tasks' values into the namespace; False (and an error event) when the
    spec cannot be read."""
    from . import gather

    try:
        gather.run(spec_path, ns, module, have_dill, sys.stdout)
        return True
    except Exception as e:
        events.emit({"type": "error", "ename": "GatherFailed", "evalue": "%s: %s" % (type(e).__name__, e),
                     "traceback": ["GatherFailed: collecting the array's values failed: %s: %s" % (type(e).__name__, e)]})
        return False


def _report_runner_exception(error):
    from .plain_shell import error_event

    event = error_event(error)
    if isinstance(error, KeyboardInterrupt):
        # Interrupted in the runner's own steps (restoring the namespace, emitting figures):
        # its frames would say nothing to the user.
        event["traceback"] = ["KeyboardInterrupt: interrupted outside the cell's code (restoring the "
                              "namespace or emitting figures)"]
    events.emit(event)


def _create_shell(module, execution_count, have_ipython):
    if have_ipython:
        from . import fast_ipython

        try:
            fast_ipython.prepare()
            try:
                from .ipython_shell import IPythonRunner, StdinNotImplementedError

                runner = IPythonRunner(module, execution_count)  # its completer would import jedi
            finally:
                fast_ipython.finish()
            return runner, StdinNotImplementedError
        except Exception as e:
            sys.stderr.write("alpine-kernel: IPython is installed but failed to start (%s: %s); "
                             "running the cell without it\n" % (type(e).__name__, e))
            sys.modules["__main__"] = module
    from .plain_shell import PlainShell

    return PlainShell(module, execution_count), stdin.StdinNotImplementedError


def _prepare_sys_path():
    # The cell imports from the working directory, as in Jupyter; the runner's own directory
    # goes last (it must stay importable for the matplotlib backend and carried objects).
    runner_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != runner_dir]
    sys.path.insert(0, "")
    sys.path.append(runner_dir)


def _start_shutdown_watchdog(exit_code):
    import threading

    try:
        grace = float(os.environ.get("ALPINE_KERNEL_EXIT_GRACE_SECONDS", EXIT_GRACE_SECONDS))
    except ValueError:
        grace = EXIT_GRACE_SECONDS

    def force_exit():
        time.sleep(grace)
        os._exit(exit_code)

    threading.Thread(target=force_exit, name="alpine-kernel-shutdown", daemon=True).start()
