/** The request handler table: history queries, replies tied to their request, cursor positions in code points. */
import type { ContentByType, HistoryEntry, RequestMessage } from "../../../src/protocol/messages";
import { asRequest, toRawMessage } from "../../../src/protocol/validate";
import { handleRequest, type HandlerSession } from "../../../src/session/handlers";

const session: HandlerSession = {
  env: { scheduler: { kind: "local" }, config: { server: { max_cell_code_mib: 1 } } },
  kernelPython: async () => ({
    info: { path: "/usr/bin/python3", version: "3.11.2", prefix: "/usr", ipython: true, dill: true },
    source: "python3 on the server's PATH",
  }),
  history: [
    [1, "import numpy as np"],
    [2, "x = np.arange(10)"],
    [3, "print(x)"],
    [4, "x.sum()"],
    [5, "print(x)"],
    [6, "y = x * 2"],
  ],
  names: new Map([
    ["x", "ndarray"],
    ["np", "module"],
    ["my_var", "int"],
  ]),
  // What a session's JobsComms answers with one jobs comm open.
  comms: {
    info: (target): Record<string, { target_name: string }> =>
      target === undefined || target === "alpine_kernel.jobs"
        ? { c1: { target_name: "alpine_kernel.jobs" } }
        : {},
  },
};

function request(msg_type: string, content: Record<string, unknown>): RequestMessage {
  const raw = toRawMessage(
    "shell",
    { msg_id: "m", session: "s", username: "u", date: "", msg_type, version: "5.3" },
    {},
    {},
    content,
  );
  const req = asRequest(raw);
  if (!req) throw new Error(`${msg_type} is not a request`);
  return req;
}

async function history(content: Record<string, unknown>): Promise<HistoryEntry[]> {
  const { type, content: reply } = await handleRequest(session, request("history_request", content));
  expect(type).toBe("history_reply");
  return (reply as ContentByType["history_reply"]).history;
}

describe("history_request", () => {
  const cases: [string, Record<string, unknown>, number[]][] = [
    ["tail, default n=10", { hist_access_type: "tail" }, [1, 2, 3, 4, 5, 6]],
    ["tail n=2", { hist_access_type: "tail", n: 2 }, [5, 6]],
    ["tail n=0 gives nothing", { hist_access_type: "tail", n: 0 }, []],
    ["range start..stop (stop excluded)", { hist_access_type: "range", start: 2, stop: 4 }, [2, 3]],
    ["range from start to the end", { hist_access_type: "range", start: 5 }, [5, 6]],
    ["search with a glob", { hist_access_type: "search", pattern: "print*" }, [3, 5]],
    ["search matches the whole cell", { hist_access_type: "search", pattern: "x" }, []],
    ["search ? is one character", { hist_access_type: "search", pattern: "?.sum()" }, [4]],
    ["search with n (most recent)", { hist_access_type: "search", pattern: "*x*", n: 2 }, [5, 6]],
    ["search unique drops repeats", { hist_access_type: "search", pattern: "print*", unique: true }, [5]],
    ["search treats regexp characters literally", { hist_access_type: "search", pattern: "x.sum()" }, [4]],
    [
      "search with a pattern that is a bad regexp",
      { hist_access_type: "search", pattern: "print(*" },
      [3, 5],
    ],
  ];
  test.each(cases)("%s", async (_name, content, lines) => {
    const got = await history(content);
    expect(got.map((e) => e[1])).toEqual(lines);
    for (const e of got) expect(e[2]).toBe(session.history.find(([n]) => n === e[1])![1]);
  });

  test("a search pattern over 1024 characters is refused with a message saying so", async () => {
    await expect(history({ hist_access_type: "search", pattern: "*a".repeat(513) })).rejects.toThrow(
      /history search pattern is 1026 characters long, over the limit of 1024/,
    );
  });

  test("output=true gives (input, output) pairs; outputs are not kept, so null", async () => {
    expect(await history({ hist_access_type: "tail", n: 1, output: true })).toEqual([
      [0, 6, ["y = x * 2", null]],
    ]);
  });
});

describe("code over server.max_cell_code_mib (issue 10, defect 8)", () => {
  test.each(["complete_request", "inspect_request", "is_complete_request"])(
    "%s with 2 MiB of code gets an error saying so, not an answer",
    async (type) => {
      const code = "x".repeat(2 << 20);
      await expect(handleRequest(session, request(type, { code, cursor_pos: 1 }))).rejects.toThrow(
        /this cell's code is 2\.0 MiB, over the limit of 1 MiB \(server\.max_cell_code_mib\)/,
      );
    },
  );
});

describe("other handlers", () => {
  test("kernel_info_reply describes the cells' Python and the backend", async () => {
    const { type, content } = await handleRequest(session, request("kernel_info_request", {}));
    expect(type).toBe("kernel_info_reply");
    expect(content).toMatchObject({
      status: "ok",
      implementation: "alpine-kernel",
      language_info: { name: "python", version: "3.11.2" },
    });
    expect((content as ContentByType["kernel_info_reply"]).banner).toMatch(/local backend/);
  });

  test("comm_info_reply: the session's open comms, filtered by target_name", async () => {
    expect(await handleRequest(session, request("comm_info_request", {}))).toEqual({
      type: "comm_info_reply",
      content: { status: "ok", comms: { c1: { target_name: "alpine_kernel.jobs" } } },
    });
    const other = await handleRequest(
      session,
      request("comm_info_request", { target_name: "jupyter.widget" }),
    );
    expect(other.content).toEqual({ status: "ok", comms: {} });
  });

  test("is_complete_reply", async () => {
    expect(await handleRequest(session, request("is_complete_request", { code: "for i in x:" }))).toEqual({
      type: "is_complete_reply",
      content: { status: "incomplete", indent: "    " },
    });
  });

  // Protocol 5.2+: cursor_pos, cursor_start and cursor_end count unicode code points, not UTF-16 units.
  test("complete_request with a character outside the BMP before the cursor", async () => {
    const code = "s = '😀'\nmy_v";
    const codePoints = [...code].length; // 12; code.length is 13
    const { content } = await handleRequest(
      session,
      request("complete_request", { code, cursor_pos: codePoints }),
    );
    expect(content).toMatchObject({
      status: "ok",
      matches: ["my_var"],
      cursor_start: codePoints - 4,
      cursor_end: codePoints,
    });
  });

  test("inspect_request with a character outside the BMP before the cursor", async () => {
    const code = "'😀😀'; my_var";
    const { content } = await handleRequest(
      session,
      request("inspect_request", { code, cursor_pos: [...code].length - 1 }),
    );
    expect(content).toMatchObject({ status: "ok", found: true });
  });

  test("complete_request without cursor_pos completes at the end of the code", async () => {
    const { content } = await handleRequest(session, request("complete_request", { code: "'😀' + my_v" }));
    expect(content).toMatchObject({ matches: ["my_var"], cursor_end: 10 });
  });
});
