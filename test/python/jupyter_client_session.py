#!/usr/bin/python3
"""Drives the installed 'alpine' kernelspec with Debian's jupyter_client and prints what it saw as JSON.

Usage: jupyter_client_session.py CELLS_JSON  (a JSON list of code strings; each is executed in turn)
Environment: AK_KERNEL_NAME, the kernelspec to start (default alpine).
Output: {"ready_s": float, "kernel_info": {...}, "cells": [{"reply": {...}, "iopub": [[t, msg_type, content], ...]}],
"kernel_info_after": {...} (asked again after the cells), "shutdown_alive": bool}
"""
import json
import os
import sys
import time

from jupyter_client.manager import KernelManager


def main():
    cells = json.loads(sys.argv[1])
    t0 = time.time()
    km = KernelManager(kernel_name=os.environ.get("AK_KERNEL_NAME", "alpine"))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    result = {"cells": []}
    try:
        kc.wait_for_ready(timeout=60)
        result["ready_s"] = time.time() - t0
        result["kernel_info"] = kc.kernel_info(reply=True, timeout=10)["content"]
        for code in cells:
            seen = []
            start = time.time()
            reply = kc.execute_interactive(
                code, timeout=120, output_hook=lambda m: seen.append([time.time() - start, m["header"]["msg_type"], m["content"]])
            )
            result["cells"].append({"reply": reply["content"], "iopub": seen})
        result["kernel_info_after"] = kc.kernel_info(reply=True, timeout=10)["content"]
        result["hb_beating"] = kc.hb_channel.is_beating()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        result["shutdown_alive"] = km.is_alive()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
