/**
 * The cluster's login questions asked in the notebook: one input_request per prompt (hidden for
 * secrets), the input_reply routed back to the prompt hub (a real PromptBroker).
 */
import type { PromptRequest } from "../../../src/cluster/prompts";
import { makeHeader } from "../../../src/protocol/make-message";
import type { MessageHeader, OutgoingMessage, RawMessage } from "../../../src/protocol/messages";
import { PromptBroker } from "../../../src/server/prompt-broker";
import { LoginPrompts } from "../../../src/session/login-prompts";

const TARGET = "alice@login.rc.colorado.edu";
const request = (prompts: PromptRequest["prompts"], instructions = ""): PromptRequest => ({
  kind: "keyboard-interactive",
  target: TARGET,
  name: "",
  instructions,
  prompts,
});
const PASSWORD = { prompt: "Password: ", echo: false };
const DUO = { prompt: "Passcode or option (1-1): ", echo: true };

let broker: PromptBroker;
let sent: { clientId: string; msg: OutgoingMessage }[];
let logins: LoginPrompts;
const parent: MessageHeader = makeHeader("execute_request", "frontend-session");

beforeEach(() => {
  broker = new PromptBroker(60_000);
  sent = [];
  logins = new LoginPrompts(broker, "kernel-session", (clientId, msg) => sent.push({ clientId, msg }));
});
afterEach(() => {
  for (const p of broker.pending()) broker.cancel(p.id, "test over");
});

/** broker.ask, its rejection (cancelled when a test ends early) handled. */
function ask(req: PromptRequest): Promise<string[]> {
  const answered = broker.ask(req);
  answered.catch(() => {});
  return answered;
}

function reply(to: OutgoingMessage, value: unknown): RawMessage {
  return {
    channel: "stdin",
    header: makeHeader("input_reply", "frontend-session"),
    parent_header: to.header,
    metadata: {},
    content: { value },
    buffers: [],
  };
}

/** What the frontend was asked, in order. */
const asked = () =>
  sent.map(({ clientId, msg }) => ({
    clientId,
    channel: msg.channel,
    type: msg.header.msg_type,
    content: msg.content,
    parent: msg.parent_header,
  }));

describe("one input_request per prompt", () => {
  const cases: [string, PromptRequest, { prompt: string; password: boolean }[], string[], string[]][] = [
    [
      "a password: hidden",
      request([PASSWORD]),
      [{ prompt: `${TARGET} — Password: `, password: true }],
      ["hunter2"],
      ["hunter2"],
    ],
    [
      "a Duo passcode: shown as typed",
      request([DUO]),
      [{ prompt: `${TARGET} — Passcode or option (1-1): `, password: false }],
      ["1"],
      ["1"],
    ],
    [
      "two prompts in one request: asked one after the other, answered together",
      request([PASSWORD, DUO]),
      [
        { prompt: `${TARGET} — Password: `, password: true },
        { prompt: `${TARGET} — Passcode or option (1-1): `, password: false },
      ],
      ["hunter2", "1"],
      ["hunter2", "1"],
    ],
    [
      "the server's instructions come before the first prompt only",
      request([PASSWORD, DUO], "  Duo two-factor login for alice  \n"),
      [
        { prompt: `Duo two-factor login for alice\n${TARGET} — Password: `, password: true },
        { prompt: `${TARGET} — Passcode or option (1-1): `, password: false },
      ],
      ["hunter2", "push"],
      ["hunter2", "push"],
    ],
    [
      "a reply without a string value counts as an empty answer",
      request([DUO]),
      [{ prompt: `${TARGET} — Passcode or option (1-1): `, password: false }],
      [undefined as unknown as string],
      [""],
    ],
  ];
  test.each(cases)("%s", async (_n, req, prompts, typed, answers) => {
    const stop = logins.answerIn("client-1", parent);
    const answered = ask(req);
    for (const [i, value] of typed.entries()) {
      expect(sent).toHaveLength(i + 1);
      expect(logins.take(reply(sent[i]!.msg, value))).toBe(true);
    }
    await expect(answered).resolves.toEqual(answers);
    expect(asked()).toEqual(
      prompts.map((content) => ({
        clientId: "client-1",
        channel: "stdin",
        type: "input_request",
        content,
        parent,
      })),
    );
    expect(broker.pending()).toEqual([]);
    stop();
  });
});

test("a prompt already waiting is asked as soon as the cell offers to answer", async () => {
  const answered = ask(request([PASSWORD]));
  expect(sent).toEqual([]);
  logins.answerIn("client-1", parent);
  expect(sent).toHaveLength(1);
  logins.take(reply(sent[0]!.msg, "hunter2"));
  await expect(answered).resolves.toEqual(["hunter2"]);
});

test("after the cell stops offering, prompts are not asked in it", () => {
  const stop = logins.answerIn("client-1", parent);
  stop();
  void ask(request([PASSWORD]));
  expect(sent).toEqual([]);
});

test("without a prompt hub (local transport) nothing is asked", () => {
  const none = new LoginPrompts(undefined, "kernel-session", (clientId, msg) => sent.push({ clientId, msg }));
  none.answerIn("client-1", parent)();
  void ask(request([PASSWORD]));
  expect(sent).toEqual([]);
});

describe("take()", () => {
  test("an input_reply that answers no login prompt (the cell's own input()) is not taken", () => {
    logins.answerIn("client-1", parent);
    const cellsOwn = { header: makeHeader("input_request", "kernel-session") } as OutgoingMessage;
    const other = reply(cellsOwn, "x");
    expect(logins.take(other)).toBe(false);
    expect(logins.take({ ...other, parent_header: {} })).toBe(false);
  });

  test("a reply is taken once", async () => {
    logins.answerIn("client-1", parent);
    const answered = ask(request([PASSWORD]));
    const r = reply(sent[0]!.msg, "hunter2");
    expect(logins.take(r)).toBe(true);
    expect(logins.take(r)).toBe(false);
    await expect(answered).resolves.toEqual(["hunter2"]);
  });

  test("two notebooks asked the same prompt: the first answer wins", async () => {
    const other: { clientId: string; msg: OutgoingMessage }[] = [];
    const logins2 = new LoginPrompts(broker, "kernel-2", (clientId, msg) => other.push({ clientId, msg }));
    logins.answerIn("client-1", parent);
    logins2.answerIn("client-2", parent);
    const answered = ask(request([PASSWORD]));
    expect([sent.length, other.length]).toEqual([1, 1]);
    expect(logins2.take(reply(other[0]!.msg, "from-2"))).toBe(true);
    expect(logins.take(reply(sent[0]!.msg, "from-1"))).toBe(true);
    await expect(answered).resolves.toEqual(["from-2"]);
  });
});
