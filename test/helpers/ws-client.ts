/**
 * A frontend on the server's kernel WebSocket, in either framing (v1 binary or legacy JSON), written
 * independently of src/protocol so it can also send frames the server must survive.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { Header, WireMessage, ZmqChannel } from "./zmq-client";

export const V1 = "v1.kernel.websocket.jupyter.org";
export type Framing = "v1" | "legacy";

export interface ServerAddress {
  url: string;
  token: string;
}

export function auth(server: ServerAddress): Record<string, string> {
  return { Authorization: `token ${server.token}` };
}

export async function startKernel(server: ServerAddress, env: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${server.url}/api/kernels`, {
    method: "POST",
    headers: { ...auth(server), "Content-Type": "application/json" },
    body: JSON.stringify({ name: "alpine", env }),
  });
  if (res.status !== 201) throw new Error(`starting a kernel failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export function encodeV1(channel: string, parts: unknown[], buffers: Buffer[] = []): Buffer {
  const chunks = [Buffer.from(channel), ...parts.map((p) => Buffer.from(JSON.stringify(p))), ...buffers];
  const offsets: number[] = [];
  let at = 8 * (chunks.length + 2);
  for (const c of chunks) {
    offsets.push(at);
    at += c.length;
  }
  offsets.push(at);
  const head = Buffer.alloc(8 * (offsets.length + 1));
  head.writeBigUInt64LE(BigInt(offsets.length), 0);
  offsets.forEach((o, i) => head.writeBigUInt64LE(BigInt(o), 8 * (i + 1)));
  return Buffer.concat([head, ...chunks]);
}

function decodeV1(buf: Buffer): Omit<WireMessage, "at"> {
  const n = Number(buf.readBigUInt64LE(0));
  const offsets = Array.from({ length: n }, (_, i) => Number(buf.readBigUInt64LE(8 * (i + 1))));
  const part = (i: number) => buf.subarray(offsets[i]!, offsets[i + 1]);
  const json = (i: number) => JSON.parse(part(i).toString()) as never;
  return {
    channel: part(0).toString() as ZmqChannel,
    header: json(1),
    parent_header: json(2),
    metadata: json(3),
    content: json(4),
  };
}

export class WsKernelClient {
  readonly session = randomUUID();
  readonly received: WireMessage[] = [];
  readonly undecodable: string[] = [];
  closedWith: { code: number; reason: string } | undefined;
  private listeners = new Set<() => void>();
  private readonly t0 = Date.now();

  private constructor(
    readonly ws: WebSocket,
    readonly framing: Framing,
  ) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      try {
        const m = isBinary ? decodeV1(data) : (JSON.parse(data.toString()) as Omit<WireMessage, "at">);
        this.received.push({ ...m, at: (Date.now() - this.t0) / 1000 });
      } catch (err) {
        this.undecodable.push((err as Error).message);
      }
      for (const l of [...this.listeners]) l();
    });
    ws.on("close", (code, reason) => {
      this.closedWith = { code, reason: reason.toString() };
      for (const l of [...this.listeners]) l();
    });
  }

  static async open(
    server: ServerAddress,
    kernelId: string,
    framing: Framing,
    sessionId = randomUUID(),
  ): Promise<WsKernelClient> {
    const url = `${server.url.replace(/^http/, "ws")}/api/kernels/${kernelId}/channels?session_id=${sessionId}`;
    const ws = new WebSocket(url, framing === "v1" ? [V1] : [], {
      headers: auth(server),
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`WebSocket refused: ${res.statusCode}`)),
      );
    });
    if (framing === "v1" && ws.protocol !== V1)
      throw new Error(`server did not accept ${V1} (got ${JSON.stringify(ws.protocol)})`);
    if (framing === "legacy" && ws.protocol !== "")
      throw new Error(`server chose a subprotocol for a legacy client: ${ws.protocol}`);
    return new WsKernelClient(ws, framing);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.closedWith;
  }

  sendRaw(data: Buffer | string, binary: boolean): Promise<void> {
    return new Promise((resolve, reject) =>
      this.ws.send(data, { binary }, (err) => (err ? reject(err) : resolve())),
    );
  }

  message(
    channel: ZmqChannel,
    msgType: string,
    content: unknown,
    parent: Partial<Header> = {},
  ): { msgId: string; data: Buffer | string } {
    const header: Header = {
      msg_id: randomUUID(),
      session: this.session,
      username: "test",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
    };
    const data =
      this.framing === "v1"
        ? encodeV1(channel, [header, parent, {}, content])
        : JSON.stringify({ header, parent_header: parent, metadata: {}, content, channel, buffers: [] });
    return { msgId: header.msg_id, data };
  }

  async send(
    channel: ZmqChannel,
    msgType: string,
    content: unknown,
    parent: Partial<Header> = {},
  ): Promise<string> {
    const { msgId, data } = this.message(channel, msgType, content, parent);
    await this.sendRaw(data, this.framing === "v1");
    return msgId;
  }

  async waitFor(what: string, pred: (m: WireMessage) => boolean, timeoutMs = 15_000): Promise<WireMessage> {
    const find = () => this.received.find(pred);
    const found = find();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const listener = () => {
        const m = find();
        if (m) {
          done();
          resolve(m);
        } else if (this.closedWith) {
          done();
          reject(new Error(`WebSocket closed (${this.closedWith.code}) while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
    });
  }

  reply(msgId: string, timeoutMs?: number): Promise<WireMessage> {
    return this.waitFor(
      `the reply to ${msgId}`,
      (m) =>
        (m.channel === "shell" || m.channel === "control") &&
        m.parent_header.msg_id === msgId &&
        m.header.msg_type.endsWith("_reply"),
      timeoutMs,
    );
  }

  idle(msgId: string, timeoutMs?: number): Promise<WireMessage> {
    return this.waitFor(
      `status idle of ${msgId}`,
      (m) =>
        m.channel === "iopub" &&
        m.parent_header.msg_id === msgId &&
        m.header.msg_type === "status" &&
        m.content.execution_state === "idle",
      timeoutMs,
    );
  }

  iopubFor(msgId: string): WireMessage[] {
    return this.received.filter((m) => m.channel === "iopub" && m.parent_header.msg_id === msgId);
  }

  async request(
    msgType: string,
    content: unknown = {},
    channel: ZmqChannel = "shell",
    timeoutMs?: number,
  ): Promise<WireMessage> {
    return this.reply(await this.send(channel, msgType, content), timeoutMs);
  }

  startExecute(
    code: string,
    opts: { allowStdin?: boolean; stopOnError?: boolean; silent?: boolean } = {},
  ): Promise<string> {
    return this.send("shell", "execute_request", {
      code,
      silent: opts.silent ?? false,
      store_history: !(opts.silent ?? false),
      user_expressions: {},
      allow_stdin: opts.allowStdin ?? false,
      stop_on_error: opts.stopOnError ?? true,
    });
  }

  async execute(
    code: string,
    opts: { allowStdin?: boolean; stopOnError?: boolean; timeoutMs?: number } = {},
  ): Promise<{ msgId: string; reply: WireMessage; iopub: WireMessage[] }> {
    const msgId = await this.startExecute(code, opts);
    const reply = await this.reply(msgId, opts.timeoutMs ?? 30_000);
    await this.idle(msgId, 5000);
    return { msgId, reply, iopub: this.iopubFor(msgId) };
  }

  close(): void {
    this.ws.terminate();
  }
}
