#!/usr/bin/python3
"""Debian's jupyter_kernel_test (KernelTests) against the installed 'alpine' kernelspec, twice:
with the samples jupyter_kernel_test's own test_ipykernel.py gives ipykernel (on which every test
passes), and with our own (the kernel's magics, namespace names, rich displays, a namespace that
carries between cells). Nothing may be skipped: test/integration/kernel-conformance.test.ts checks.

Usage: test_conformance.py   (run in an environment where the 'alpine' kernelspec is installed)
Output: one JSON object on stdout: {"results": [{"id", "outcome": "ok"|"fail"|"error"|"skip",
"detail"}], "ran": n, "seconds": s}; unittest's own report goes to stderr. Exit status 0 when the
run could be reported (failures are in the JSON), 1 when it could not even start.
"""
import json
import os
import re
import sys
import time
import unittest

import jupyter_kernel_test

# A name defined in the kernel before the tests run, so completion of namespace names is tested.
DEFINED_NAME = "alpine_conformance_value"

# A cell run before each class's tests (e.g. `%slurm allocate ...`), when set: the suite then runs
# inside what it set up, and the report says where each class's cells ran (job id and pid, asked
# after the setup cell and again after the last test: the same pair means one live process).
SETUP_CELL = os.environ.get("ALPINE_CONFORMANCE_SETUP_CELL")
WHERE_CODE = "import os as _o; print('where', _o.environ.get('SLURM_JOB_ID'), _o.getpid())"
WHERE = {}


def _run_quiet(kc, code):
    out = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=300, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError("%r failed in the kernel: %r" % (code, reply["content"]))
    return "".join(out)


def _where(kc):
    m = re.search(r"^where (\S+) (\d+)$", _run_quiet(kc, WHERE_CODE), re.M)
    if not m:
        raise RuntimeError("the kernel did not say where it runs")
    return [m.group(1), m.group(2)]


class _SetUpCell(object):
    """Runs SETUP_CELL first when it is set; records where the cells ran, before and after."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if SETUP_CELL:
            _run_quiet(cls.kc, SETUP_CELL)
            WHERE[cls.__name__] = {"before": _where(cls.kc)}

    @classmethod
    def tearDownClass(cls):
        if SETUP_CELL and cls.__name__ in WHERE:
            WHERE[cls.__name__]["after"] = _where(cls.kc)
        super().tearDownClass()


class AlpineKernelTests(_SetUpCell, jupyter_kernel_test.KernelTests):
    kernel_name = "alpine"
    language_name = "python"
    file_extension = ".py"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reply = cls.kc.execute_interactive(
            "%s = 41 + 1" % DEFINED_NAME, timeout=60, output_hook=lambda msg: None
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError("could not define %s in the kernel: %r" % (DEFINED_NAME, reply["content"]))

    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print('to stderr', file=sys.stderr)"

    completion_samples = [
        # The kernel's magics.
        {"text": "%sq", "matches": {"%squeue"}},
        {"text": "%sl", "matches": {"%slurm"}},
        {"text": "%%sl", "matches": {"%%slurm"}},
        # Options of %%slurm, in sbatch's spelling.
        {"text": "%%slurm --parti", "matches": {"--partition"}},
        # A name an earlier cell left in the namespace (setUpClass; the runner's `namespace`
        # event lists it), then Python builtins and keywords.
        {"text": DEFINED_NAME[:-3], "matches": {DEFINED_NAME}},
        {"text": "pri", "matches": {"print"}},
        {"text": "whi", "matches": {"while"}},
    ]

    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n    return x\n\n", "%squeue"]
    incomplete_code_samples = ["print('''hello", "def f(x):", "for i in range(3):\n    x = i", "(1 +"]
    invalid_code_samples = ["(1 + 2]", "print('hello\nworld')", "1 + )"]

    code_generate_error = "raise ValueError('alpine conformance error')"

    # Two samples only: test_history runs each of them six times.
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "from IPython.display import HTML\nHTML('<b>bold</b>')", "mime": "text/html", "result": "<b>bold</b>"},
    ]

    code_display_data = [
        {"code": "from IPython.display import display, HTML\ndisplay(HTML('<b>shown</b>'))", "mime": "text/html"},
        {"code": "from IPython.display import display, Markdown\ndisplay(Markdown('*md*'))", "mime": "text/markdown"},
        {
            # The kernel's own matplotlib backend, as in the demo: no %matplotlib inline needed.
            "code": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
            "mime": "image/png",
        },
    ]

    # Matches '1 + 2' only (history search patterns are globs over the whole cell).
    code_history_pattern = "1 ?*2"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "%slurm"

    code_clear_output = "from IPython.display import clear_output\nprint('soon gone')\nclear_output()"

    # IPython's pager, returned in the execute_reply's payload as ipykernel does.
    code_page_something = "len?"

    def test_namespace_carries_between_cells(self):
        """Not in KernelTests: the value defined in setUpClass is there in a later cell."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper("print(%s)" % DEFINED_NAME)
        self.assertEqual(reply["content"]["status"], "ok")
        text = "".join(m["content"]["text"] for m in output_msgs if m["msg_type"] == "stream")
        self.assertEqual(text, "42\n")


class IPyKernelSampleTests(_SetUpCell, jupyter_kernel_test.KernelTests):
    """The samples of jupyter_kernel_test's test_ipykernel.py ("all the currently available tests"),
    unchanged but for the kernel's name: what ipykernel passes, this kernel passes."""

    kernel_name = "alpine"
    language_name = "python"
    file_extension = ".py"
    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print('test', file=sys.stderr)"
    completion_samples = [{"text": "zi", "matches": {"zip"}}]
    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n  return x*2\n\n\n"]
    incomplete_code_samples = ["print('''hello", "def f(x):\n  x*2"]
    invalid_code_samples = ["import = 7q"]
    code_page_something = "zip?"
    code_generate_error = "raise"
    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": "[n*n for n in range(1, 4)]", "result": "[1, 4, 9]"},
    ]
    code_display_data = [
        {"code": "from IPython.display import HTML, display; display(HTML('<b>test</b>'))", "mime": "text/html"},
        {"code": "from IPython.display import Math, display; display(Math('\\frac{1}{2}'))", "mime": "text/latex"},
    ]
    code_history_pattern = "1?2*"
    supported_history_operations = ("tail", "search")
    code_inspect_sample = "zip"
    code_clear_output = "from IPython.display import clear_output; clear_output()"


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = []

    def _record(self, test, outcome, detail=""):
        self.records.append({"id": test.id().split(".", 1)[-1], "outcome": outcome, "detail": detail})

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "fail", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skip", reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._record(subtest, "fail" if failed else "error", self._exc_info_to_string(err, test))


def main():
    t0 = time.time()
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite(
        [loader.loadTestsFromTestCase(IPyKernelSampleTests), loader.loadTestsFromTestCase(AlpineKernelTests)]
    )
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=_Result)
    result = runner.run(suite)
    print(
        json.dumps(
            {
                "results": result.records,
                "ran": result.testsRun,
                "seconds": time.time() - t0,
                "where": WHERE,
            }
        )
    )


if __name__ == "__main__":
    main()
