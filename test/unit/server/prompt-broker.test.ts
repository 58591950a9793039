/**
 * The login prompt broker: prompts wait for the first answer from whoever can give it (a notebook,
 * `alpine-kernel login`), answers are checked, unanswered prompts time out with a message that
 * says how to retry.
 */
import { PromptError, type PendingPrompt, type PromptRequest } from "../../../src/cluster/prompts";
import { PromptBroker } from "../../../src/server/prompt-broker";

const TIMEOUT = 300_000;
const duo: PromptRequest = {
  kind: "keyboard-interactive",
  target: "alice@login.rc.colorado.edu",
  name: "",
  instructions: "",
  prompts: [
    { prompt: "Password: ", echo: false },
    { prompt: "Passcode or option (1-1): ", echo: true },
  ],
};
const passphrase: PromptRequest = {
  kind: "passphrase",
  target: "alice@login.rc.colorado.edu",
  name: "",
  instructions: "",
  prompts: [{ prompt: "Passphrase for ~/.ssh/id_ed25519: ", echo: false }],
};

let broker: PromptBroker;
let changes: number;
beforeEach(() => {
  jest.useFakeTimers();
  broker = new PromptBroker(TIMEOUT);
  changes = 0;
  broker.onChange(() => changes++);
});
afterEach(() => jest.useRealTimers());

/** Asks, and keeps the outcome for inspection. */
function ask(req: PromptRequest) {
  const outcome: { answers?: string[]; error?: unknown } = {};
  void broker.ask(req).then(
    (a) => (outcome.answers = a),
    (e: unknown) => (outcome.error = e),
  );
  return outcome;
}
const settle = () => jest.advanceTimersByTimeAsync(0);

test("a prompt is pending until answered; the answers reach the asker", async () => {
  const got = ask(duo);
  expect(broker.pending()).toEqual([{ id: expect.any(String), request: duo, created: expect.any(String) }]);
  const [p] = broker.pending();
  expect(broker.answer(p!.id, ["hunter2", "1"])).toBe(true);
  await settle();
  expect(got.answers).toEqual(["hunter2", "1"]);
  expect(broker.pending()).toEqual([]);
});

test("the first answer wins; later ones are told so", async () => {
  const got = ask(passphrase);
  const id = broker.pending()[0]!.id;
  expect(broker.answer(id, ["first"])).toBe(true);
  expect(broker.answer(id, ["second"])).toBe(false);
  await settle();
  expect(got.answers).toEqual(["first"]);
});

test.each([
  ["too few", ["hunter2"]],
  ["too many", ["hunter2", "1", "extra"]],
  ["none", []],
])("the number of answers is checked (%s): the prompt stays open", async (_n, answers) => {
  const got = ask(duo);
  const id = broker.pending()[0]!.id;
  let err: unknown;
  try {
    broker.answer(id, answers);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PromptError);
  expect(err).toMatchObject({ code: "BAD_ANSWER", message: `expected 2 answer(s), got ${answers.length}` });
  expect(broker.pending()).toHaveLength(1);
  expect(broker.answer(id, ["hunter2", "1"])).toBe(true);
  await settle();
  expect(got.answers).toEqual(["hunter2", "1"]);
});

test("an unknown id is not answered", () => {
  expect(broker.answer("no-such-prompt", ["x"])).toBe(false);
});

describe("timeout", () => {
  test.each([
    [duo, `"Password: / Passcode or option (1-1):"`],
    [passphrase, `"Passphrase for ~/.ssh/id_ed25519:"`],
  ])("%#: PROMPT_TIMEOUT naming the prompt and saying how to retry", async (req, named) => {
    const got = ask(req);
    await jest.advanceTimersByTimeAsync(TIMEOUT - 1);
    expect(got.error).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(got.error).toBeInstanceOf(PromptError);
    const err = got.error as PromptError;
    expect(err.code).toBe("PROMPT_TIMEOUT");
    expect(err.message).toBe(
      `nobody answered the login prompt ${named} for alice@login.rc.colorado.edu within 300 s; ` +
        "run `alpine-kernel login`, or run the cell again and answer in the notebook",
    );
    expect(broker.pending()).toEqual([]);
  });

  test("an answer after the timeout is refused", async () => {
    ask(passphrase);
    const id = broker.pending()[0]!.id;
    await jest.advanceTimersByTimeAsync(TIMEOUT);
    expect(broker.answer(id, ["late"])).toBe(false);
  });

  test("an answered prompt does not time out later", async () => {
    const got = ask(passphrase);
    broker.answer(broker.pending()[0]!.id, ["x"]);
    await jest.advanceTimersByTimeAsync(2 * TIMEOUT);
    expect(got).toEqual({ answers: ["x"] });
    expect(jest.getTimerCount()).toBe(0);
  });
});

test("cancel(): the asker gets PROMPT_CANCELLED with the reason", async () => {
  const got = ask(passphrase);
  const id = broker.pending()[0]!.id;
  expect(broker.cancel(id, "logged out")).toBe(true);
  expect(broker.cancel(id, "again")).toBe(false);
  await settle();
  expect(got.error).toMatchObject({
    code: "PROMPT_CANCELLED",
    message: "the login was cancelled (logged out); run `alpine-kernel login` to try again",
  });
  expect(jest.getTimerCount()).toBe(0);
});

describe("subscribe", () => {
  test("a responder is offered the prompts waiting now and later ones, until it unsubscribes", () => {
    ask(duo);
    const offered: PendingPrompt[] = [];
    const unsubscribe = broker.subscribe({ offer: (p) => offered.push(p) });
    expect(offered.map((p) => p.request)).toEqual([duo]);
    ask(passphrase);
    expect(offered.map((p) => p.request)).toEqual([duo, passphrase]);
    expect(offered.map((p) => p.id)).toEqual(broker.pending().map((p) => p.id));
    unsubscribe();
    ask(passphrase);
    expect(offered).toHaveLength(2);
  });

  test("every responder is offered the prompt", () => {
    const a: string[] = [];
    const b: string[] = [];
    broker.subscribe({ offer: (p) => a.push(p.id) });
    broker.subscribe({ offer: (p) => b.push(p.id) });
    ask(passphrase);
    expect(a).toHaveLength(1);
    expect(b).toEqual(a);
  });
});

test("onChange fires when a prompt appears and when it goes (answer, timeout, cancel)", async () => {
  const events: number[] = [];
  ask(passphrase);
  events.push(changes);
  broker.answer(broker.pending()[0]!.id, ["x"]);
  events.push(changes);
  ask(passphrase);
  await jest.advanceTimersByTimeAsync(TIMEOUT);
  events.push(changes);
  ask(passphrase);
  broker.cancel(broker.pending()[0]!.id, "bye");
  events.push(changes);
  expect(events).toEqual([1, 2, 4, 6]);
});

test("an onChange listener can unsubscribe", () => {
  let n = 0;
  const off = broker.onChange(() => n++);
  ask(passphrase);
  off();
  ask(passphrase);
  expect(n).toBe(1);
});
