/** Kernelspecs per resource profile: their names, display names and the argv Jupyter runs. */
import { kernelSpec, profileDisplayName, profileKernelName } from "../../../src/kernel/kernelspec";

test.each([
  ["gpu", "alpine-gpu", "Python (Alpine · GPU)"],
  ["cpu", "alpine-cpu", "Python (Alpine · CPU)"],
  ["bigmem", "alpine-bigmem", "Python (Alpine · Bigmem)"],
  ["testing", "alpine-testing", "Python (Alpine · Testing)"],
])("%s → %s, %s", (profile, name, display) => {
  expect(profileKernelName(profile)).toBe(name);
  expect(profileDisplayName(profile)).toBe(display);
});

test("a profile's kernel.json passes --profile to the bridge and says so in its metadata", () => {
  const spec = kernelSpec("Python (Alpine · GPU)", "gpu");
  expect(spec.argv.slice(2)).toEqual(["kernel", "-f", "{connection_file}", "--profile", "gpu"]);
  expect(spec.metadata).toMatchObject({ alpine_kernel: { profile: "gpu" } });
  expect(kernelSpec().argv.slice(2)).toEqual(["kernel", "-f", "{connection_file}"]);
});
