"""`%slurm gather ARRAY NAME`: one name from the saved namespace of each task of a job array,
collected into one value of the cell's namespace before the cell's own code runs.

The spec (JSON, written by the server) names the array, the name, where to put it and, per task,
its index, its saved namespace and how it ended:

    {"array": "4521", "name": "result", "into": "result",
     "tasks": [{"task": 0, "namespace": "/…/0.namespace", "state": "COMPLETED"}, …]}

Each task's namespace is a store of its own (docs/cell-runner.md); only the record holding the name
is read from it.

The value is a list in task order, or a pandas DataFrame indexed by task_id when every value is a
dict (and pandas is importable). What was gathered, and which tasks had nothing, is printed.
"""
import json

from . import namespace


def _ranges(ids):
    parts, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else "%d-%d" % (ids[i], ids[j]))
        i = j + 1
    return ",".join(parts)


def _describe_missing(missing):
    shown = ["%d (%s)" % (task, why) for task, why in missing[:20]]
    more = len(missing) - len(shown)
    return "; ".join(shown) + (" and %d more" % more if more > 0 else "")


def collect(spec, main_module, have_dill):
    """(value, task ids gathered, [(task, why)] for the tasks without it)."""
    values, ids, missing = [], [], []
    for task in spec["tasks"]:
        found, value, why = namespace.load_name(task["namespace"], spec["name"], main_module, have_dill)
        if found:
            values.append(value)
            ids.append(task["task"])
            continue
        state = task.get("state") or ""
        if state and state != "COMPLETED":
            why = "%s: %s" % (state, why)
        missing.append((task["task"], why))
    return values, ids, missing


def as_frame(values, ids):
    """A DataFrame with one row per task when every value is a dict and pandas is here; else None."""
    if not values or not all(isinstance(v, dict) for v in values):
        return None
    try:
        import pandas
    except ImportError:
        return None
    return pandas.DataFrame(values, index=pandas.Index(ids, name="task_id"))


def run(spec_path, ns, main_module, have_dill, out):
    with open(spec_path, "r", encoding="utf-8") as f:
        spec = json.load(f)
    values, ids, missing = collect(spec, main_module, have_dill)
    frame = as_frame(values, ids)
    into = spec.get("into") or spec["name"]
    ns[into] = frame if frame is not None else values
    what = "a DataFrame, one row per task (index task_id)" if frame is not None else "a list in task order"
    total = len(spec["tasks"])
    out.write(
        "gathered %r from %d of %d tasks of array %s into %s: %s\n"
        % (spec["name"], len(values), total, spec["array"], into, what)
    )
    if missing and frame is None and values:
        out.write("(the list holds tasks %s, in that order)\n" % _ranges(ids))
    if missing:
        out.write("no %r in task%s %s\n" % (spec["name"], "s" if len(missing) > 1 else "", _describe_missing(missing)))
