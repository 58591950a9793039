/**
 * The jobs comm as a frontend drives it (messages validated as they arrive): an unknown target is
 * closed at once, the jobs target subscribes to the feed and says its notebook's path, requests are
 * checked and answered on the comm, comm_info lists the open comms, closing unsubscribes, a lease
 * not renewed closes the comm. A hand-written host; a real cell book.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { CellBook } from "../../../src/cells/cell-book";
import { Ledger } from "../../../src/ledger/ledger";
import { FEED_LEASE_SECONDS, JOBS_COMM_TARGET } from "../../../src/protocol/jobs-feed";
import type { ContentByType, MsgType } from "../../../src/protocol/messages";
import { toRawMessage } from "../../../src/protocol/validate";
import type { SessionEnvironment } from "../../../src/session/environment";
import { JobsComms, type CommHost } from "../../../src/session/jobs-comm";

let dir: string;
let book: CellBook;
let sent: { type: MsgType; content: Record<string, unknown> }[];
let paths: string[];
let comms: JobsComms;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ak-comm-"));
  book = new CellBook(new Ledger(join(dir, "ledger.jsonl")));
  sent = [];
  paths = [];
  const host: CommHost = {
    id: "k1",
    env: { cells: book } as unknown as SessionEnvironment,
    log: pino({ level: "silent" }),
    publish: <T extends MsgType>(type: T, content: ContentByType[T]) =>
      sent.push({ type, content: content as unknown as Record<string, unknown> }),
    setNotebookPath: (p) => paths.push(p),
  };
  comms = new JobsComms(host);
});
afterEach(() => {
  comms.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

function frontend(msg_type: string, content: Record<string, unknown>) {
  comms.handleRaw(
    toRawMessage(
      "shell",
      { msg_id: `m-${sent.length}`, session: "s", username: "u", date: "", msg_type, version: "5.3" },
      {},
      {},
      content,
    ),
  );
}
const data = () =>
  sent.filter((m) => m.type === "comm_msg").map((m) => m.content.data as Record<string, unknown>);

test("an unknown target is closed at once, as ipykernel does", () => {
  frontend("comm_open", { comm_id: "w1", target_name: "jupyter.widget", data: {} });
  expect(sent).toEqual([{ type: "comm_close", content: { comm_id: "w1", data: {} } }]);
  expect(comms.info()).toEqual({});
});

test("the jobs comm: its path is kept, the snapshot comes at once, comm_info lists it", () => {
  frontend("comm_open", {
    comm_id: "c1",
    target_name: JOBS_COMM_TARGET,
    data: { notebook_path: "proj/a.ipynb", subscribe: true },
  });
  expect(paths).toEqual(["proj/a.ipynb"]);
  expect(book.feed.notebookPath("k1")).toBe("proj/a.ipynb");
  expect(data()[0]).toMatchObject({ type: "snapshot", jobs: [] });
  expect(comms.info()).toEqual({ c1: { target_name: JOBS_COMM_TARGET } });
  expect(comms.info("other")).toEqual({});
  expect(book.feed.subscribers).toBe(1);
  frontend("comm_close", { comm_id: "c1", data: {} });
  expect(book.feed.subscribers).toBe(0);
  expect(comms.info()).toEqual({});
});

test("without subscribe: no feed, only the path", () => {
  frontend("comm_open", { comm_id: "c2", target_name: JOBS_COMM_TARGET, data: { notebook_path: "b.ipynb" } });
  expect(data()).toEqual([]);
  expect(book.feed.subscribers).toBe(0);
  frontend("comm_msg", { comm_id: "c2", data: { type: "subscribe" } });
  expect(data()[0]).toMatchObject({ type: "snapshot" });
});

test.each<[string, unknown, RegExp]>([
  ["an unknown request type", { type: "explode" }, /bad request/],
  ["cancel without a request id", { type: "cancel", id: "k1/1" }, /requestId/],
  ["a tail of too many lines", { type: "tail", requestId: "r", id: "k1/1", lines: 100000 }, /lines/],
  ["data that is not an object", "cancel everything", /data must be a JSON object|bad request/],
])("%s is answered with an error on the comm", (_what, body, message) => {
  frontend("comm_open", { comm_id: "c3", target_name: JOBS_COMM_TARGET, data: {} });
  frontend("comm_msg", { comm_id: "c3", data: body });
  const errors = data().filter((d) => d.type === "error");
  // Data that is not an object never reaches the comm: the message is dropped as malformed.
  if (typeof body === "string") expect(errors).toEqual([]);
  else expect(String(errors[0]?.message)).toMatch(message);
});

test("cancel or tail of a cell this server does not know says so", async () => {
  frontend("comm_open", { comm_id: "c4", target_name: JOBS_COMM_TARGET, data: {} });
  frontend("comm_msg", { comm_id: "c4", data: { type: "cancel", requestId: "r1", id: "nope/1" } });
  await new Promise((r) => setImmediate(r));
  expect(data().at(-1)).toEqual({ type: "error", requestId: "r1", message: "no cell nope/1" });
});

test("malformed comm messages are dropped, never thrown", () => {
  expect(() => frontend("comm_open", { target_name: JOBS_COMM_TARGET })).not.toThrow();
  expect(() => frontend("comm_msg", { comm_id: "", data: {} })).not.toThrow();
  expect(sent).toEqual([]);
});

test("a lease not renewed closes the comm and tells the frontend", () => {
  jest.useFakeTimers();
  try {
    frontend("comm_open", { comm_id: "c5", target_name: JOBS_COMM_TARGET, data: { subscribe: true } });
    jest.advanceTimersByTime((FEED_LEASE_SECONDS - 10) * 1000);
    frontend("comm_msg", { comm_id: "c5", data: { type: "subscribe" } }); // renewed
    jest.advanceTimersByTime((FEED_LEASE_SECONDS - 10) * 1000);
    expect(book.feed.subscribers).toBe(1);
    jest.advanceTimersByTime(20_000);
    expect(book.feed.subscribers).toBe(0);
    expect(sent.at(-1)).toEqual({ type: "comm_close", content: { comm_id: "c5", data: {} } });
  } finally {
    jest.useRealTimers();
  }
});
