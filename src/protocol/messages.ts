/**
 * Jupyter messaging protocol 5.3 message types.
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html
 * Shape follows jupyterlab's packages/services/src/kernel/messages.ts: one content type per
 * msg_type, literal `msg_type` and `channel`, spec field names in snake_case.
 */

export const PROTOCOL_VERSION = "5.3";

export type Channel = "shell" | "control" | "stdin" | "iopub";

/** https://jupyter-client.readthedocs.io/en/stable/messaging.html#message-header */
export interface MessageHeader<T extends string = string> {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: T;
  version: string;
  subshell_id?: string | null;
}

export type MimeBundle = Record<string, unknown>;
export type JsonObject = Record<string, unknown>;

// ---------------------------------------------------------------- requests (shell / control / stdin)

/** kernel_info_request has an empty content. */
export type KernelInfoRequest = Record<string, never>;
export interface ExecuteRequest {
  code: string;
  silent: boolean;
  store_history: boolean;
  user_expressions: Record<string, string>;
  allow_stdin: boolean;
  stop_on_error: boolean;
}
export interface IsCompleteRequest {
  code: string;
}
export interface CompleteRequest {
  code: string;
  cursor_pos: number;
}
export interface InspectRequest {
  code: string;
  cursor_pos: number;
  detail_level: 0 | 1;
}
export interface HistoryRequest {
  output: boolean;
  raw: boolean;
  hist_access_type: "range" | "tail" | "search";
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}
export interface CommInfoRequest {
  target_name?: string;
}
export interface ShutdownRequest {
  restart: boolean;
}
/** interrupt_request has an empty content. */
export type InterruptRequest = Record<string, never>;
export interface InputReply {
  value: string;
}

// ---------------------------------------------------------------- replies

export interface ReplyOk {
  status: "ok";
}
export interface ReplyError {
  status: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}
export interface ReplyAborted {
  status: "aborted";
}

export interface HelpLink {
  text: string;
  url: string;
}
export interface LanguageInfo {
  name: string;
  version: string;
  mimetype: string;
  file_extension: string;
  pygments_lexer: string;
  codemirror_mode: string | JsonObject;
  nbconvert_exporter: string;
}
export interface KernelInfoReply extends ReplyOk {
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: LanguageInfo;
  banner: string;
  help_links: HelpLink[];
  debugger: boolean;
}
export type ExecuteReply =
  (ReplyOk & { user_expressions: JsonObject; payload: JsonObject[] }) | ReplyError | ReplyAborted;
export type ExecuteReplyContent = ExecuteReply & { execution_count: number };
export type IsCompleteReply =
  { status: "complete" | "invalid" | "unknown" } | { status: "incomplete"; indent: string };
export type CompleteReply =
  | (ReplyOk & { matches: string[]; cursor_start: number; cursor_end: number; metadata: JsonObject })
  | ReplyError;
export type InspectReply =
  (ReplyOk & { found: boolean; data: MimeBundle; metadata: JsonObject }) | ReplyError;
export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];
export type HistoryReply = ReplyOk & { history: HistoryEntry[] };
export type CommInfoReply = ReplyOk & { comms: Record<string, { target_name: string }> };
export type ShutdownReply = ReplyOk & { restart: boolean };
export type InterruptReply = ReplyOk;

// ---------------------------------------------------------------- iopub and stdin from the kernel

export interface Status {
  execution_state: "busy" | "idle" | "starting";
}
export interface ExecuteInput {
  code: string;
  execution_count: number;
}
export interface Stream {
  name: "stdout" | "stderr";
  text: string;
}
export interface DisplayData {
  data: MimeBundle;
  metadata: JsonObject;
  transient?: { display_id?: string };
}
export interface ExecuteResult extends DisplayData {
  execution_count: number;
}
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}
export interface ClearOutput {
  wait: boolean;
}
export interface InputRequest {
  prompt: string;
  password: boolean;
}

// ---------------------------------------------------------------- comms (both ways; shell in, iopub out)
// https://jupyter-client.readthedocs.io/en/stable/messaging.html#custom-messages

export interface CommOpen {
  comm_id: string;
  target_name: string;
  data: JsonObject;
  target_module?: string | null;
}
export interface CommMsg {
  comm_id: string;
  data: JsonObject;
}
export interface CommClose {
  comm_id: string;
  data: JsonObject;
}

/** msg_type → content, for every message alpine-kernel reads or writes. */
export interface ContentByType {
  kernel_info_request: KernelInfoRequest;
  kernel_info_reply: KernelInfoReply;
  execute_request: ExecuteRequest;
  execute_reply: ExecuteReplyContent;
  is_complete_request: IsCompleteRequest;
  is_complete_reply: IsCompleteReply;
  complete_request: CompleteRequest;
  complete_reply: CompleteReply;
  inspect_request: InspectRequest;
  inspect_reply: InspectReply;
  history_request: HistoryRequest;
  history_reply: HistoryReply;
  comm_info_request: CommInfoRequest;
  comm_info_reply: CommInfoReply;
  shutdown_request: ShutdownRequest;
  shutdown_reply: ShutdownReply;
  interrupt_request: InterruptRequest;
  interrupt_reply: InterruptReply;
  input_request: InputRequest;
  input_reply: InputReply;
  status: Status;
  execute_input: ExecuteInput;
  stream: Stream;
  display_data: DisplayData;
  update_display_data: DisplayData;
  execute_result: ExecuteResult;
  error: ErrorContent;
  clear_output: ClearOutput;
  comm_open: CommOpen;
  comm_msg: CommMsg;
  comm_close: CommClose;
}
export type MsgType = keyof ContentByType;

export type CommType = "comm_open" | "comm_msg" | "comm_close";
/** A comm message a frontend sent, as validated at the boundary. */
export type CommMessage = { [C in CommType]: Message<C> }[CommType];

export type RequestType =
  | "kernel_info_request"
  | "execute_request"
  | "is_complete_request"
  | "complete_request"
  | "inspect_request"
  | "history_request"
  | "comm_info_request"
  | "shutdown_request"
  | "interrupt_request";

/** The reply type of a request type: execute_request → execute_reply. */
export type ReplyType<R extends RequestType = RequestType> = R extends `${infer B}_request`
  ? `${B}_reply`
  : never;

/** A Jupyter message as it travels between our components (decoded from ZMQ or WebSocket). */
export interface Message<T extends MsgType = MsgType> {
  channel: Channel;
  header: MessageHeader<T>;
  /** Empty object when the message has no parent. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: JsonObject;
  content: ContentByType[T];
  buffers: Uint8Array[];
}

/** A request the kernel handles, as validated at the boundary. */
export type RequestMessage = { [R in RequestType]: Message<R> }[RequestType];

/** Anything that arrived and passed the structural checks; `content` is only known for RequestMessage. */
export interface RawMessage {
  channel: Channel;
  header: MessageHeader;
  parent_header: MessageHeader | Record<string, never>;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Uint8Array[];
}

export function isMessageType<T extends MsgType>(msg: Message | RawMessage, type: T): msg is Message<T> {
  return msg.header.msg_type === type;
}

export function hasParent(msg: { parent_header: MessageHeader | Record<string, never> }): msg is {
  parent_header: MessageHeader;
} {
  return typeof (msg.parent_header as Partial<MessageHeader>).msg_id === "string";
}

/**
 * Any request may be answered with an error (spec: "status": "error" in a reply), whatever its
 * reply's usual content.
 */
export interface ErrorReplyMessage extends Omit<Message<ReplyType>, "content"> {
  content: ReplyError;
}

/** Any message on its way out (typed or raw): what the codecs accept. */
export type OutgoingMessage = Omit<RawMessage, "content"> & { content: object };
