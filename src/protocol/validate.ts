/**
 * Validation where Jupyter messages enter: ZMQ frames and WebSocket frames are decoded to plain
 * JSON and checked here. Nothing else casts message data.
 */
import { InputError } from "../errors";
import type {
  Channel,
  CommMessage,
  CommType,
  JsonObject,
  MessageHeader,
  RawMessage,
  RequestMessage,
} from "./messages";

export class ProtocolError extends InputError {
  constructor(message: string) {
    super("PROTOCOL", message);
  }
}

const CHANNELS: readonly Channel[] = ["shell", "control", "stdin", "iopub"];

export function isObject(x: unknown): x is JsonObject {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export function assertHeader(x: unknown, what = "header"): asserts x is MessageHeader {
  if (!isObject(x)) throw new ProtocolError(`${what} is not a JSON object`);
  for (const key of ["msg_id", "msg_type"] as const) {
    if (typeof x[key] !== "string" || x[key] === "")
      throw new ProtocolError(`${what}.${key} must be a non-empty string`);
  }
  // Lenient on the rest, as jupyter_client is: fill what older clients omit.
  for (const key of ["session", "username", "date", "version"] as const) {
    if (x[key] === undefined) x[key] = "";
    else if (typeof x[key] !== "string") throw new ProtocolError(`${what}.${key} must be a string`);
  }
}

function assertParentHeader(x: unknown): asserts x is MessageHeader | Record<string, never> {
  if (!isObject(x)) throw new ProtocolError("parent_header is not a JSON object");
  if (Object.keys(x).length > 0) assertHeader(x, "parent_header");
}

export function assertChannel(x: unknown): asserts x is Channel {
  if (typeof x !== "string" || !CHANNELS.includes(x as Channel)) {
    throw new ProtocolError(`unknown channel ${JSON.stringify(x)}`);
  }
}

/** Checks the four parts every message has. `buffers` are passed through untouched. */
export function toRawMessage(
  channel: unknown,
  header: unknown,
  parentHeader: unknown,
  metadata: unknown,
  content: unknown,
  buffers: Uint8Array[] = [],
): RawMessage {
  assertChannel(channel);
  assertHeader(header);
  assertParentHeader(parentHeader);
  if (!isObject(metadata)) throw new ProtocolError("metadata is not a JSON object");
  if (!isObject(content)) throw new ProtocolError("content is not a JSON object");
  return { channel, header, parent_header: parentHeader, metadata, content, buffers };
}

type Check = (c: JsonObject) => void;

function str(c: JsonObject, key: string, fallback?: string): void {
  if (c[key] === undefined && fallback !== undefined) c[key] = fallback;
  if (typeof c[key] !== "string") throw new ProtocolError(`content.${key} must be a string`);
}
function bool(c: JsonObject, key: string, fallback: boolean): void {
  if (c[key] === undefined) c[key] = fallback;
  if (typeof c[key] !== "boolean") throw new ProtocolError(`content.${key} must be true or false`);
}
function int(c: JsonObject, key: string, fallback?: number): void {
  if (c[key] === undefined && fallback !== undefined) c[key] = fallback;
  const v = c[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new ProtocolError(`content.${key} must be a non-negative integer`);
  }
}

/** Per request type: required fields, defaults from the spec for optional ones. */
const REQUEST_CHECKS: Record<RequestMessage["header"]["msg_type"], Check> = {
  kernel_info_request: () => {},
  execute_request: (c) => {
    str(c, "code");
    bool(c, "silent", false);
    bool(c, "store_history", !c.silent);
    bool(c, "allow_stdin", true);
    bool(c, "stop_on_error", true);
    if (c.user_expressions === undefined) c.user_expressions = {};
    if (!isObject(c.user_expressions)) throw new ProtocolError("content.user_expressions must be an object");
  },
  is_complete_request: (c) => str(c, "code"),
  complete_request: (c) => {
    str(c, "code");
    int(c, "cursor_pos", typeof c.code === "string" ? [...c.code].length : 0);
  },
  inspect_request: (c) => {
    str(c, "code");
    int(c, "cursor_pos", typeof c.code === "string" ? [...c.code].length : 0);
    int(c, "detail_level", 0);
  },
  history_request: (c) => {
    bool(c, "output", false);
    bool(c, "raw", true);
    str(c, "hist_access_type", "tail");
    if (!["range", "tail", "search"].includes(c.hist_access_type as string)) {
      throw new ProtocolError("content.hist_access_type must be range, tail or search");
    }
  },
  comm_info_request: () => {},
  shutdown_request: (c) => bool(c, "restart", false),
  interrupt_request: () => {},
};

export function isRequestType(t: string): t is RequestMessage["header"]["msg_type"] {
  return Object.prototype.hasOwnProperty.call(REQUEST_CHECKS, t);
}

/**
 * Narrows a raw message to a request the kernel handles, filling spec defaults.
 * Returns undefined for message types that are not requests (input_reply, comm_* ...).
 * Throws ProtocolError when a known request has a malformed content.
 */
export function asRequest(msg: RawMessage): RequestMessage | undefined {
  const type = msg.header.msg_type;
  if (!isRequestType(type)) return undefined;
  REQUEST_CHECKS[type](msg.content);
  return msg as unknown as RequestMessage;
}

/** input_reply from a frontend on stdin. */
export function inputReplyValue(msg: RawMessage): string {
  const v = msg.content.value;
  if (typeof v !== "string") throw new ProtocolError("input_reply content.value must be a string");
  return v;
}

const COMM_TYPES: readonly string[] = ["comm_open", "comm_msg", "comm_close"] satisfies CommType[];

export function isCommType(t: string): t is CommType {
  return COMM_TYPES.includes(t);
}

/**
 * Narrows a comm message from a frontend: `comm_id` (and `target_name` for comm_open) non-empty
 * strings, `data` an object (`{}` when missing). Throws ProtocolError otherwise.
 */
export function asComm(msg: RawMessage): CommMessage {
  const c = msg.content;
  if (typeof c.comm_id !== "string" || c.comm_id === "" || c.comm_id.length > 256)
    throw new ProtocolError("content.comm_id must be a non-empty string (at most 256 characters)");
  if (msg.header.msg_type === "comm_open" && (typeof c.target_name !== "string" || c.target_name === ""))
    throw new ProtocolError("content.target_name must be a non-empty string");
  if (c.data === undefined || c.data === null) c.data = {};
  if (!isObject(c.data)) throw new ProtocolError("content.data must be a JSON object");
  return msg as unknown as CommMessage;
}
