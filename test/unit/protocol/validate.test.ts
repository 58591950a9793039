/** Requests as they enter: spec defaults filled in, malformed ones refused with a message naming the field. */
import type { RawMessage } from "../../../src/protocol/messages";
import {
  ProtocolError,
  asRequest,
  assertHeader,
  inputReplyValue,
  isRequestType,
  toRawMessage,
} from "../../../src/protocol/validate";

const header = (msg_type: string) => ({
  msg_id: "m",
  session: "s",
  username: "u",
  date: "",
  msg_type,
  version: "5.3",
});
const raw = (
  msg_type: string,
  content: Record<string, unknown>,
  channel: RawMessage["channel"] = "shell",
): RawMessage => toRawMessage(channel, header(msg_type), {}, {}, content);

describe("asRequest fills spec defaults", () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["kernel_info_request", {}, {}],
    [
      "execute_request",
      { code: "1" },
      {
        code: "1",
        silent: false,
        store_history: true,
        allow_stdin: true,
        stop_on_error: true,
        user_expressions: {},
      },
    ],
    ["execute_request", { code: "", silent: true }, { silent: true, store_history: false }],
    [
      "execute_request",
      { code: "", silent: true, store_history: true },
      { silent: true, store_history: true },
    ],
    ["complete_request", { code: "abc" }, { cursor_pos: 3 }],
    ["complete_request", { code: "héllo ✓" }, { cursor_pos: 7 }],
    ["inspect_request", { code: "xy" }, { cursor_pos: 2, detail_level: 0 }],
    ["history_request", {}, { output: false, raw: true, hist_access_type: "tail" }],
    ["is_complete_request", { code: "for x in y:" }, { code: "for x in y:" }],
    ["shutdown_request", {}, { restart: false }],
    ["comm_info_request", {}, {}],
    ["interrupt_request", {}, {}],
  ];
  test.each(cases)("%s %j", (type, content, expected) => {
    const req = asRequest(raw(type, { ...content }));
    expect(req).toBeDefined();
    expect(req!.content).toMatchObject(expected);
  });

  test.each(["input_reply", "comm_open", "comm_msg", "debug_request", "usage_request", "no_such_thing"])(
    "%s is not a request the kernel answers: undefined, no throw",
    (type) => {
      expect(asRequest(raw(type, { anything: 1 }))).toBeUndefined();
      expect(isRequestType(type)).toBe(false);
    },
  );
});

describe("asRequest refuses malformed content", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["execute_request", {}, "content.code must be a string"],
    ["execute_request", { code: 42 }, "content.code must be a string"],
    ["execute_request", { code: "", silent: "no" }, "content.silent must be true or false"],
    ["execute_request", { code: "", allow_stdin: 1 }, "content.allow_stdin must be true or false"],
    ["execute_request", { code: "", stop_on_error: null }, "content.stop_on_error must be true or false"],
    ["execute_request", { code: "", user_expressions: [] }, "content.user_expressions must be an object"],
    ["complete_request", { code: "x", cursor_pos: "x" }, "content.cursor_pos must be a non-negative integer"],
    ["complete_request", { code: "x", cursor_pos: -1 }, "content.cursor_pos must be a non-negative integer"],
    ["complete_request", { code: "x", cursor_pos: 1.5 }, "content.cursor_pos must be a non-negative integer"],
    ["complete_request", { cursor_pos: 0 }, "content.code must be a string"],
    [
      "inspect_request",
      { code: "x", detail_level: "high" },
      "content.detail_level must be a non-negative integer",
    ],
    ["is_complete_request", {}, "content.code must be a string"],
    [
      "history_request",
      { hist_access_type: "all" },
      "content.hist_access_type must be range, tail or search",
    ],
    ["history_request", { output: "yes" }, "content.output must be true or false"],
    ["shutdown_request", { restart: "true" }, "content.restart must be true or false"],
  ];
  test.each(cases)("%s %j → %s", (type, content, message) => {
    const msg = raw(type, content);
    expect(() => asRequest(msg)).toThrow(ProtocolError);
    expect(() => asRequest(msg)).toThrow(message);
  });
});

describe("structural checks", () => {
  test.each([
    [null, "header is not a JSON object"],
    [[], "header is not a JSON object"],
    [{ msg_type: "x" }, "header.msg_id must be a non-empty string"],
    [{ msg_id: "x" }, "header.msg_type must be a non-empty string"],
    [{ msg_id: "x", msg_type: "y", date: 5 }, "header.date must be a string"],
  ])("header %j → %s", (h, message) => {
    expect(() => assertHeader(h)).toThrow(message);
  });

  test.each([
    ["web", header("x"), {}, {}, {}, 'unknown channel "web"'],
    ["shell", header("x"), null, {}, {}, "parent_header is not a JSON object"],
    ["shell", header("x"), {}, [], {}, "metadata is not a JSON object"],
    ["shell", header("x"), {}, {}, "x", "content is not a JSON object"],
  ])("toRawMessage(%j, ...) → %s", (ch, h, p, m, c, message) => {
    expect(() => toRawMessage(ch, h, p, m, c)).toThrow(message);
  });

  test("input_reply value must be a string", () => {
    expect(inputReplyValue(raw("input_reply", { value: "yes" }, "stdin"))).toBe("yes");
    expect(() => inputReplyValue(raw("input_reply", { value: 3 }, "stdin"))).toThrow(
      "input_reply content.value must be a string",
    );
  });

  test("ProtocolError has the stable code PROTOCOL", () => {
    try {
      asRequest(raw("complete_request", { code: "x", cursor_pos: "x" }));
      throw new Error("not refused");
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe("PROTOCOL");
    }
  });
});
