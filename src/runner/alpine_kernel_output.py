"""Prints a cell's whole output as text, from its events file (docs/cell-runner.md).

    python3 alpine_kernel_output.py CELL.events.jsonl [> output.txt]

What the notebook shows of a cell is limited (server.max_cell_output_mb); the events file keeps all
of it. Everything goes to stdout in the order the cell wrote it, as the notebook would show it:
streams as they came, displays and results as their text/plain, errors as their tracebacks.
Python 3, stdlib only, reads line by line.
"""
import json
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def show(event, out, err):
    kind = event.get("type")
    if kind == "stream":
        (err if event.get("name") == "stderr" else out).write(event.get("text", ""))
    elif kind in ("display_data", "update_display_data", "execute_result"):
        data = event.get("data") or {}
        text = data.get("text/plain")
        out.write((text if isinstance(text, str) else "[%s]" % ", ".join(sorted(data))) + "\n")
    elif kind == "error":
        err.write(ANSI.sub("", "\n".join(event.get("traceback") or [])) + "\n")
    elif kind == "start" and show.started:
        err.write("[alpine-kernel: the job was requeued and started again on %s]\n" % event.get("host"))
    if kind == "start":
        show.started = True


show.started = False


def main(argv):
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    out = err = sys.stdout
    with open(argv[0], "rb") as f:
        for raw in f:
            try:
                event = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                continue  # a line cut by a killed job
            if isinstance(event, dict):
                show(event, out, err)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
