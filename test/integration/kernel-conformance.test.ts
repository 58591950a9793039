/**
 * Debian's jupyter_kernel_test (the Jupyter project's conformance suite) against the installed
 * "alpine" kernelspec: jupyter_client launches the ZMQ bridge, which starts a server on the local
 * backend; every message is validated against the v5 message spec. It runs twice: with the samples
 * jupyter_kernel_test gives ipykernel (what ipykernel passes, this kernel passes) and with our own
 * (test/python/test_conformance.py). Nothing is skipped.
 */
import { expectWholeSuitePassed, runConformance } from "../helpers/conformance";
import { installKernelSpec, isolatedEnv, type IsolatedEnv } from "../helpers/env";

describe("jupyter_kernel_test conformance", () => {
  let iso: IsolatedEnv;
  beforeAll(() => {
    iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
    installKernelSpec(iso.env);
  });
  afterAll(() => iso.cleanup());

  test("KernelTests pass whole, with ipykernel's samples and with ours", () => {
    expectWholeSuitePassed(runConformance(iso.env));
  }, 300_000);
});
