"""alpine-kernel cell runner: what every cell job execs on the compute node.

    python -u alpine_kernel_runner.py --code CELL.py --events CELL.events.jsonl --execution-count N
        [--namespace-in STORE] [--namespace-out STORE] [--allow-stdin] [--silent]
        [--no-store-history]

    python -u alpine_kernel_runner.py --supervise --dir ALLOCATION_DIR --namespace NS.pkl

The contract with the server is docs/cell-runner.md (a cell job) and docs/allocation.md (an
allocation's daemon, --supervise). Python 3.8+, stdlib only; IPython and dill
are used when importable. The implementation is the sibling package alpine_kernel_runner_lib/,
which must be copied along with this file (and alpine_kernel_mpl_backend.py).
"""
import os
import sys

if __name__ == "__main__":
    if sys.version_info < (3, 8):
        sys.stderr.write("alpine-kernel runner: Python 3.8 or newer is required, this is %s\n" % sys.version.split()[0])
        sys.exit(2)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if sys.argv[1:2] == ["--supervise"]:  # an allocation's holder job (docs/allocation.md)
        from alpine_kernel_runner_lib.allocation.supervisor import main as supervise

        sys.exit(supervise(sys.argv[2:], os.path.abspath(__file__)))
    if sys.argv[1:2] == ["--worker"]:  # started by the supervisor
        from alpine_kernel_runner_lib.allocation.worker import main as work

        sys.exit(work(sys.argv[2:]))
    from alpine_kernel_runner_lib.main import main

    sys.exit(main(sys.argv[1:]))
