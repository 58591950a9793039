/**
 * input() and getpass() through input_request events and reply files; without --allow-stdin they
 * fail at once instead of hanging.
 */
import { existsSync } from "node:fs";
import {
  CellDir,
  IPYTHON,
  ofType,
  only,
  plainPython,
  shape,
  streamText,
  tracebackText,
  writeInputReply,
} from "./runner-harness";

const cells = new CellDir();
afterAll(() => cells.cleanup());

describe.each([
  ["IPython", IPYTHON],
  ["plain (stdlib only)", plainPython()],
])("stdin with %s", (_label, python) => {
  test("input() and getpass() ask with input_request and read the reply files", async () => {
    const code = [
      "import getpass",
      "name = input('Name? ')",
      "print('hello', name)",
      "secret = getpass.getpass()",
      "print(len(secret))",
    ].join("\n");
    const running = cells.start(python, code, { allowStdin: true });
    const first = await running.waitFor((e) => e.type === "input_request");
    expect(first).toEqual({ type: "input_request", seq: 1, prompt: "Name? ", password: false });
    writeInputReply(running.eventsPath, 1, { value: "Ralphie" });
    const repliedAt = Date.now();
    await running.waitFor((e) => e.type === "stream" && e.text === "Ralphie");
    // The runner polls for the reply every 50 ms.
    expect(Date.now() - repliedAt).toBeLessThan(500);
    const second = await running.waitFor((e) => e.type === "input_request" && e.seq === 2);
    expect(second).toEqual({ type: "input_request", seq: 2, prompt: "Password: ", password: true });
    writeInputReply(running.eventsPath, 2, { value: "s3cret" });
    const r = await running.finished;
    expect(r.exitCode).toBe(0);
    expect(streamText(r.events, "stdout")).toBe("hello Ralphie\n6\n");
    expect(shape(r.events)).toEqual(["start", "input_request", "input_request", "end"]);
    // The answers (one a password) were deleted as soon as they were read.
    expect(existsSync(`${running.eventsPath}.input.1`)).toBe(false);
    expect(existsSync(`${running.eventsPath}.input.2`)).toBe(false);
  });

  test("an error reply raises EOFError in the cell", async () => {
    const running = cells.start(python, "input()", { allowStdin: true });
    await running.waitFor((e) => e.type === "input_request");
    writeInputReply(running.eventsPath, 1, { error: "the frontend went away" });
    const r = await running.finished;
    expect(r.exitCode).toBe(1);
    const err = only(r.events, "error");
    expect(err.ename).toBe("EOFError");
    expect(err.evalue).toBe("the frontend went away");
  });

  test("without --allow-stdin, input() raises StdinNotImplementedError at once", async () => {
    const started = Date.now();
    const r = await cells.run(python, "print('asking')\nanswer = input('? ')\n");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.exitCode).toBe(1);
    expect(ofType(r.events, "input_request")).toEqual([]);
    const err = only(r.events, "error");
    expect(err.ename).toBe("StdinNotImplementedError");
    expect(err.evalue).toBe("input() is not available: this frontend does not accept input requests");
    expect(tracebackText(err)).toMatch(/line 2/);
  });
});
