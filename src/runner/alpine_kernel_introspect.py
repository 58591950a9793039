"""alpine-kernel's introspection helper: completion and inspection for one notebook session, run in
the cells' own environment (their Python, their packages) on the cluster, with jedi.

One long-lived, low-priority process per session (docs/introspection.md). Requests and replies are
JSON lines on stdin/stdout; it exits when its input ends. It never sees the namespace's values: the
server tells it each name's type (as the cell runner reported it) and the cells' code, and it builds
a stand-in: modules are imported for real, a name holding an instance of an importable class is
annotated with that class, and functions and classes defined in cells come from their source.

    -> {"id": 1, "op": "context", "modules": {"np": "numpy"}, "types": {"df": "pandas.core.frame:DataFrame"}, "cells": ["..."]}
    -> {"id": 2, "op": "complete", "code": "df.gr", "cursor": 5}
    <- {"id": 2, "matches": ["groupby"], "start": 3, "end": 5, "types": [{"text": "groupby", "type": "function", ...}]}
    -> {"id": 3, "op": "inspect", "code": "len(", "cursor": 4, "detail": 0}
    <- {"id": 3, "found": true, "data": {"text/plain": "Signature: len(obj, /)..."}}
"""
import json
import os
import platform
import sys

_proto = None  # the protocol's own copy of stdout: stray prints from imported modules go to stderr


def emit(obj):
    _proto.write(json.dumps(obj) + "\n")
    _proto.flush()


def main():
    global _proto
    _proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        os.nice(19)  # completion waits for nobody's job: lowest CPU priority on the login node
    except (AttributeError, OSError):
        pass
    try:
        import jedi
    except Exception as e:  # noqa: BLE001 -- any import failure means no jedi here
        emit({"ready": False, "error": "jedi cannot be imported in the cells' environment (%s: %s); "
              "install it there (conda install jedi) for completion" % (type(e).__name__, e)})
        return 3
    from alpine_kernel_runner_lib import introspection

    jedi.settings.case_insensitive_completion = False  # as IPython sets it
    session = introspection.Session(jedi)
    emit({"ready": True, "jedi": jedi.__version__, "python": platform.python_version()})
    for raw in sys.stdin.buffer:
        try:
            request = json.loads(raw.decode("utf-8"))
        except ValueError as e:
            emit({"id": None, "error": "not a JSON request: %s" % e})
            continue
        try:
            reply = session.handle(request)
        except Exception as e:  # noqa: BLE001 -- one bad request must not end the helper
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        emit(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
