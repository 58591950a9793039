"""The allocation daemon (`%slurm allocate`): one long-lived Python inside a held Slurm allocation
that runs many cells with their namespace in memory. docs/allocation.md describes the protocol.

    supervisor.py  the holder job's main process: reads the server's requests, starts and watches
                   the worker, writes the allocation's events
    worker.py      the Python that runs the cells (IPython when importable), one at a time
    cell_run.py    one cell in the worker, through the same events-file contract as a per-cell job
    snapshot.py    the only place that reaches the namespace store: save everything / restore everything
    introspect.py  completion and inspection from the live namespace
    channel.py     the request directory, the events file, the pipes between supervisor and worker
"""
