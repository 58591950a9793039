#!/usr/bin/python3
"""Lifecycle scenarios through Debian's jupyter_client against the installed 'alpine' kernelspec.

Usage: jupyter_client_lifecycle.py   (prints one JSON object; each scenario's result under its name)
Scenarios: stdin (input() and getpass() answered through the stdin channel), no_stdin (allow_stdin
False: input() fails fast), interrupt (KernelManager.interrupt_kernel, i.e. interrupt_request on
control, while a cell runs), restart (KernelManager.restart_kernel: namespace and count start over).
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def collect(kc, code, timeout=60, **kwargs):
    seen = []
    start = time.time()
    reply = kc.execute_interactive(
        code, timeout=timeout, output_hook=lambda m: seen.append([round(time.time() - start, 3), m["header"]["msg_type"], m["content"]]), **kwargs
    )
    return {"reply": reply["content"], "iopub": seen, "seconds": round(time.time() - start, 3)}


def scenario_stdin(kc):
    prompts = []

    def answer(msg):
        prompts.append([msg["content"]["prompt"], msg["content"]["password"]])
        kc.input("s3cret" if msg["content"]["password"] else "Ralphie")

    run = collect(
        kc,
        "import getpass\nname = input('Your name? ')\npw = getpass.getpass('Password: ')\nprint('hello', name, len(pw))",
        allow_stdin=True,
        stdin_hook=answer,
    )
    run["prompts"] = prompts
    run["after"] = collect(kc, "print(name.upper())")
    return run


def scenario_no_stdin(kc):
    run = collect(kc, "value = input('never answered? ')", allow_stdin=False)
    run["after"] = collect(kc, "print('next cell runs')")
    return run


def scenario_interrupt(kc, km):
    msg_id = kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nprint('not reached')")
    seen = []
    t0 = time.time()
    interrupted_at = None
    reply = None
    while time.time() - t0 < 60:
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
            if msg["parent_header"].get("msg_id") == msg_id:
                seen.append([msg["header"]["msg_type"], msg["content"]])
                if interrupted_at is None and msg["header"]["msg_type"] == "stream" and "sleeping" in msg["content"].get("text", ""):
                    time.sleep(0.3)
                    km.interrupt_kernel()
                    interrupted_at = time.time() - t0
        except Exception:
            pass
        if reply is None:
            try:
                r = kc.get_shell_msg(timeout=0.01)
                if r["parent_header"].get("msg_id") == msg_id:
                    reply = r["content"]
            except Exception:
                pass
        if reply is not None and any(t == "status" and c.get("execution_state") == "idle" for t, c in seen):
            break
    return {
        "reply": reply,
        "iopub": seen,
        "interrupted_at": interrupted_at,
        "reply_after_interrupt_s": round(time.time() - t0 - (interrupted_at or 0), 3),
        "after": collect(kc, "print('after the interrupt')"),
    }


def scenario_restart(kc, km):
    before = collect(kc, "kept = 'no'\nkept")
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    after = collect(kc, "kept")
    again = collect(kc, "1 + 1")
    return {"before": before, "after": after, "again": again}


def main():
    km = KernelManager(kernel_name="alpine")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    result = {}
    try:
        kc.wait_for_ready(timeout=60)
        result["stdin"] = scenario_stdin(kc)
        result["no_stdin"] = scenario_no_stdin(kc)
        result["interrupt"] = scenario_interrupt(kc, km)
        result["restart"] = scenario_restart(kc, km)
    except Exception as err:  # report what happened so far, with the failure
        result["failure"] = "%s: %s" % (type(err).__name__, err)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        result["alive_after_shutdown"] = km.is_alive()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
