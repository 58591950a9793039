/**
 * A minimal Jupyter client over real ZeroMQ sockets, for benchmarks: it plays jupyter_client's part
 * (connection file, shell/iopub/control sockets, signed messages) without Python's overhead.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as zmq from "zeromq";
import { makeMessage } from "../../src/protocol/make-message";
import type { ContentByType, MsgType, RawMessage } from "../../src/protocol/messages";
import { WireCodec } from "../../src/protocol/wire";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

export interface Connection {
  file: string;
  info: {
    shell_port: number;
    iopub_port: number;
    control_port: number;
    stdin_port: number;
    hb_port: number;
    key: string;
    ip: string;
    transport: "tcp";
    signature_scheme: string;
  };
}

export async function writeConnectionFile(path: string): Promise<Connection> {
  const info = {
    shell_port: await freePort(),
    iopub_port: await freePort(),
    control_port: await freePort(),
    stdin_port: await freePort(),
    hb_port: await freePort(),
    key: randomBytes(16).toString("hex"),
    ip: "127.0.0.1",
    transport: "tcp" as const,
    signature_scheme: "hmac-sha256",
  };
  writeFileSync(path, JSON.stringify(info));
  return { file: path, info };
}

export class ZmqJupyterClient {
  private readonly codec: WireCodec;
  private readonly shell = new zmq.Dealer({ routingId: randomUUID() });
  private readonly control = new zmq.Dealer({ routingId: randomUUID() });
  readonly iopub = new zmq.Subscriber();
  private readonly session = randomUUID();
  private readonly waiters = new Map<string, (m: RawMessage) => void>();
  readonly iopubLog: { at: number; msg: RawMessage }[] = [];
  private readonly iopubWaiters: ((m: RawMessage) => void)[] = [];

  constructor(conn: Connection) {
    this.codec = new WireCodec(conn.info.key);
    const url = (p: number) => `tcp://127.0.0.1:${p}`;
    this.shell.connect(url(conn.info.shell_port));
    this.control.connect(url(conn.info.control_port));
    this.iopub.connect(url(conn.info.iopub_port));
    this.iopub.subscribe();
    void this.pump(this.shell, "shell");
    void this.pump(this.control, "control");
    void this.pumpIopub();
  }

  private async pump(sock: zmq.Dealer, channel: "shell" | "control"): Promise<void> {
    try {
      for await (const frames of sock) {
        const { message } = this.codec.decode(channel, frames);
        const parent = (message.parent_header as { msg_id?: string }).msg_id ?? "";
        this.waiters.get(parent)?.(message);
      }
    } catch {
      // closed
    }
  }

  private async pumpIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const { message } = this.codec.decode("iopub", frames);
        this.iopubLog.push({ at: performance.now(), msg: message });
        for (const w of this.iopubWaiters.splice(0)) w(message);
      }
    } catch {
      // closed
    }
  }

  /** Sends a request and resolves with its reply. */
  async request<T extends MsgType>(
    channel: "shell" | "control",
    type: T,
    content: ContentByType[T],
  ): Promise<RawMessage> {
    const msg = makeMessage(channel, type, content, {}, this.session);
    const reply = new Promise<RawMessage>((resolve) => this.waiters.set(msg.header.msg_id, resolve));
    await (channel === "shell" ? this.shell : this.control).send(this.codec.encode([], msg));
    const r = await reply;
    this.waiters.delete(msg.header.msg_id);
    return r;
  }

  /** kernel_info_request until one is answered (the kernel may not be listening yet). */
  async waitForKernelInfo(timeoutMs = 60_000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const attempt = this.request("shell", "kernel_info_request", {});
      const r = await Promise.race([
        attempt,
        new Promise<undefined>((res) => setTimeout(() => res(undefined), 1000)),
      ]);
      if (r) return r;
      if (Date.now() > deadline) throw new Error("no kernel_info_reply");
    }
  }

  execute(code: string): Promise<RawMessage> {
    return this.request("shell", "execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
  }

  close(): void {
    for (const s of [this.shell, this.control, this.iopub]) s.close();
  }
}
