/**
 * Debian's jupyter_client starts the installed kernelspec (the ZMQ bridge, which starts a server in
 * the background), executes cells and sees state, streams, results and errors as the spec says.
 */
import { installKernelSpec, isolatedEnv, runPython, type IsolatedEnv } from "../helpers/env";

type Seen = [number, string, Record<string, unknown>];
interface Session {
  ready_s: number;
  kernel_info: {
    language_info: { name: string; version: string };
    implementation: string;
    protocol_version: string;
  };
  cells: { reply: Record<string, unknown>; iopub: Seen[] }[];
  hb_beating: boolean;
  shutdown_alive: boolean;
}

function drive(iso: IsolatedEnv, cells: string[]): Session {
  return JSON.parse(runPython("jupyter_client_session.py", [JSON.stringify(cells)], iso.env)) as Session;
}

const outputs = (cell: Session["cells"][number], type: string) =>
  cell.iopub.filter(([, t]) => t === type).map(([, , c]) => c);

describe("jupyter_client against the installed kernelspec", () => {
  let iso: IsolatedEnv;
  beforeAll(() => {
    iso = isolatedEnv("backend: local\nenvironment:\n  python: /usr/bin/python3\n");
    installKernelSpec(iso.env);
  });
  afterAll(() => iso.cleanup());

  test("state, streams, results and errors", () => {
    const s = drive(iso, [
      "import sys\nx = 20\nprint('to stdout'); print('to stderr', file=sys.stderr)",
      "x * 2 + 2",
      "def f():\n    return undefined_name\nf()",
      "import time\nfor i in range(4):\n    print('tick', i, flush=True)\n    time.sleep(0.5)",
    ]);
    expect(s.kernel_info.implementation).toBe("alpine-kernel");
    expect(s.kernel_info.protocol_version).toBe("5.3");
    expect(s.kernel_info.language_info.name).toBe("python");
    expect(s.kernel_info.language_info.version).toMatch(/^3\.\d+\.\d+$/);
    expect(s.hb_beating).toBe(true);
    expect(s.shutdown_alive).toBe(false);

    const [c1, c2, c3, c4] = s.cells;
    expect(c1!.reply).toMatchObject({ status: "ok", execution_count: 1 });
    // A print may reach the frontend in more than one stream message: join them per stream.
    const text = (name: string) =>
      outputs(c1!, "stream")
        .filter((c) => c.name === name)
        .map((c) => c.text)
        .join("");
    expect(text("stdout")).toBe("to stdout\n");
    expect(text("stderr")).toBe("to stderr\n");
    expect(outputs(c1!, "execute_input")[0]).toMatchObject({ execution_count: 1 });

    expect(c2!.reply).toMatchObject({ status: "ok", execution_count: 2 });
    expect(outputs(c2!, "execute_result")).toEqual([
      { execution_count: 2, data: { "text/plain": "42" }, metadata: {} },
    ]);

    expect(c3!.reply).toMatchObject({ status: "error", ename: "NameError" });
    const err = outputs(c3!, "error")[0] as { ename: string; evalue: string; traceback: string[] };
    expect(err.ename).toBe("NameError");
    expect(err.evalue).toContain("undefined_name");
    // The traceback points at the cell's own lines: line 2 (inside f) and line 3 (the call).
    // eslint-disable-next-line no-control-regex -- strip the ANSI colours of the traceback
    const tb = err.traceback.join("\n").replace(/\u001b\[[0-9;]*m/g, "");
    expect(tb).toMatch(/line 3/);
    expect(tb).toMatch(/line 2/);

    // Streaming: four ticks printed 0.5 s apart arrive as separate messages, spread over time. A
    // print is several writes ("tick", " ", "0", "\n"), and a read may catch it half written: the
    // pieces are checked joined, and the times are those of the messages holding the first and last.
    const streams = c4!.iopub.filter(([, t]) => t === "stream");
    expect(streams.map(([, , c]) => c.text).join("")).toBe("tick 0\ntick 1\ntick 2\ntick 3\n");
    const ticks = streams.filter(([, , c]) => String(c.text).includes("tick"));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks[ticks.length - 1]![0] - ticks[0]![0]).toBeGreaterThan(1.0);
  });
});
