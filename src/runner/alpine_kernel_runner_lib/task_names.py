"""Names a job gives its cell from the environment: an array task's `task_id`
(SLURM_ARRAY_TASK_ID), an srun task's `rank` and `size` (SLURM_PROCID, SLURM_NTASKS).

`--env-name task_id=SLURM_ARRAY_TASK_ID` sets `task_id` in the namespace, after it was restored,
to the variable's value as an int (as a string when it is not a number; left unset when the
variable is).
"""
import os


def parse(pairs):
    """["task_id=SLURM_ARRAY_TASK_ID", ...] -> [("task_id", "SLURM_ARRAY_TASK_ID"), ...]; ValueError."""
    out = []
    for pair in pairs or ():
        name, sep, variable = pair.partition("=")
        if not sep or not name.isidentifier() or not variable:
            raise ValueError("--env-name wants NAME=VARIABLE, not %r" % pair)
        out.append((name, variable))
    return out


def inject(ns, names):
    for name, variable in names:
        value = os.environ.get(variable)
        if value is None:
            continue
        try:
            ns[name] = int(value)
        except ValueError:
            ns[name] = value
