#!/usr/bin/python3
"""Asks one kernel the same completion and inspection cases through Debian's jupyter_client, after
running the same setup cells, and prints what it answered (and how long each answer took) as JSON.

Usage: introspection_cases.py KERNEL_NAME SPEC_JSON
  SPEC_JSON: {"setup": [code, ...], "ready": {"code": c, "expect": match},
              "cases": [{"kind": "complete"|"inspect", "code": c, "cursor": n}, ...], "repeat": n}
  "ready": asked until its matches hold `expect` (a warm kernel, for both), at most 60 s.
Output: {"ready_s": float, "answers": [{"matches"|"found"/"text", "cursor_start", "ms": [..]}, ...]}
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def ask(kc, case):
    t = time.perf_counter()
    if case["kind"] == "complete":
        r = kc.complete(case["code"], case["cursor"], reply=True, timeout=60)["content"]
        ms = (time.perf_counter() - t) * 1000
        return ms, {"matches": r.get("matches", []), "cursor_start": r.get("cursor_start"),
                    "cursor_end": r.get("cursor_end"), "metadata": r.get("metadata", {})}
    r = kc.inspect(case["code"], case["cursor"], detail_level=0, reply=True, timeout=60)["content"]
    ms = (time.perf_counter() - t) * 1000
    return ms, {"found": r.get("found", False), "text": r.get("data", {}).get("text/plain", "")}


def main():
    name, spec = sys.argv[1], json.loads(sys.argv[2])
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    out = {"answers": []}
    try:
        kc.wait_for_ready(timeout=60)
        for code in spec["setup"]:
            reply = kc.execute_interactive(code, timeout=300, output_hook=lambda m: None)
            if reply["content"]["status"] != "ok":
                raise SystemExit("setup cell failed: %s" % json.dumps(reply["content"]))
        t0 = time.time()
        ready = spec["ready"]
        while True:
            _ms, r = ask(kc, {"kind": "complete", "code": ready["code"], "cursor": len(ready["code"])})
            if ready["expect"] in r["matches"] or time.time() - t0 > 60:
                break
            time.sleep(0.2)
        out["ready_s"] = time.time() - t0
        for case in spec["cases"]:
            times, answer = [], None
            for _ in range(spec.get("repeat", 1)):
                ms, answer = ask(kc, case)
                times.append(round(ms, 2))
            answer["ms"] = times
            out["answers"].append(answer)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
