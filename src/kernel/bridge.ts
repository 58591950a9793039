/**
 * `alpine-kernel kernel -f CONNECTION_FILE`: what kernel.json runs. A thin relay between Jupyter's
 * ZeroMQ sockets and a kernel on the user's alpine-kernel server (started in the background when
 * none answers). It answers heartbeats itself, exits when its parent (JPY_PARENT_PID) dies, and
 * rides out a server restart: messages wait in a queue while it reconnects.
 */
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import WebSocket from "ws";
import { errorMessage } from "../errors";
import { readConnectionFile } from "../protocol/connection-file";
import { makeMessage } from "../protocol/make-message";
import { hasParent, type Channel, type RawMessage } from "../protocol/messages";
import { V1_PROTOCOL, decodeWsMessage, encodeWsMessage } from "../protocol/ws-framing";
import type { RuntimeInfo } from "../config/runtime-file";
import { authHeaders, ensureServer } from "./server-connection";
import { ZmqFront, type Incoming } from "./zmq-front";
import { jupyterPython } from "./jupyter-python";
import { DEFAULT_KERNEL_NAME } from "./kernelspec";
import { readRuntimeFile } from "../config/runtime-file";
import { DEFAULT_MAX_CELL_CODE_MIB } from "../config/limits";
import { maxMessageBytes } from "../protocol/limits";

const MAX_QUEUED = 10_000;
const REPLY_ROUTES_LIMIT = 50_000;

function log(message: string): void {
  process.stderr.write(`[alpine-kernel bridge ${new Date().toISOString()}] ${message}\n`);
}

export class KernelBridge {
  private readonly front: ZmqFront;
  /** ZMQ identities of each request, to route replies (and input requests) back to the asker. */
  private readonly routes = new Map<string, Buffer[]>();
  private readonly queue: RawMessage[] = [];
  private readonly clientId = randomUUID();
  private maxMessage: number;
  private ws: WebSocket | undefined;
  private kernelId: string | undefined;
  private server: RuntimeInfo | undefined;
  private stopping = false;
  private shutDown = false;
  private connecting: Promise<void> | undefined;
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;

  constructor(
    connectionFile: string,
    /** The kernelspec's resource profile (`alpine-kernel install --profile gpu`). */
    private readonly profile?: string,
  ) {
    const info = readConnectionFile(connectionFile);
    // The server's limit, from its runtime file (reading the configuration would cost the bridge
    // ~0.4 s of start-up); the default one until a server has written it.
    this.maxMessage = readRuntimeFile()?.max_message_bytes ?? maxMessageBytes(DEFAULT_MAX_CELL_CODE_MIB);
    this.front = new ZmqFront(info, (m) => this.fromFrontend(m), log, this.maxMessage);
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  async start(): Promise<void> {
    await this.front.bind();
    this.watchParent();
    process.on("SIGINT", () => {}); // interrupts arrive as interrupt_request (interrupt_mode: message)
    process.on("SIGTERM", () => void this.stop());
    void this.connect();
  }

  private watchParent(): void {
    const parent = Number(process.env.JPY_PARENT_PID);
    if (!parent || parent === 1) return;
    const timer = setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        log(`parent process ${parent} is gone: exiting`);
        void this.stop();
      }
    }, 1000);
    timer.unref();
  }

  private fromFrontend({ ids, message }: Incoming): void {
    if (this.routes.size > REPLY_ROUTES_LIMIT) this.routes.clear();
    this.routes.set(message.header.msg_id, ids);
    this.toServer(message);
  }

  private toServer(message: RawMessage): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const frame = encodeWsMessage("v1", message);
      // Each ZMQ frame is within the limit, a message of several may not be: the server would close the connection.
      if (frame.length > this.maxMessage)
        return log(`dropped a ${message.header.msg_type} of ${frame.length} bytes: over ${this.maxMessage}`);
      ws.send(frame);
      return;
    }
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push(message);
    void this.connect();
  }

  private fromServer(data: Buffer, isBinary: boolean): void {
    let msg: RawMessage;
    try {
      msg = decodeWsMessage("v1", data, isBinary);
    } catch (err) {
      log(`dropped a bad message from the server: ${errorMessage(err)}`);
      return;
    }
    if (msg.channel === "iopub") {
      void this.front.send("iopub", [], msg);
      return;
    }
    const ids = hasParent(msg) ? this.routes.get(msg.parent_header.msg_id) : undefined;
    if (!ids) {
      log(`no route for a ${msg.header.msg_type} on ${msg.channel}; dropped`);
      return;
    }
    // input_request goes out on stdin to the identity of the execute_request it belongs to.
    const channel: Channel = msg.channel;
    void this.front.send(channel, ids, msg).then(() => {
      // An error reply (a malformed shutdown_request) shuts nothing down.
      if (msg.header.msg_type === "shutdown_reply" && msg.content.status !== "error")
        void this.afterShutdown();
    });
    if (msg.header.msg_type.endsWith("_reply")) this.routes.delete(msg.parent_header.msg_id);
  }

  private async afterShutdown(): Promise<void> {
    // A restart launches a new bridge, which opens a fresh kernel: this one is done either way.
    this.shutDown = true; // the server closes the deleted kernel's channels: no reconnecting
    await this.deleteKernel();
    await this.stop();
  }

  /** Never rejects: it retries until connected or stopped, so callers may leave it floating. */
  private connect(): Promise<void> {
    this.connecting ??= this.connectLoop().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connectLoop(): Promise<void> {
    let delay = 100;
    while (!this.stopping) {
      try {
        this.server = await ensureServer();
        const limit = this.server.max_message_bytes;
        if (limit && limit !== this.maxMessage) {
          this.maxMessage = limit; // for connections from now on (a server started with another limit)
          this.front.setMaxMessageBytes(limit);
        }
        this.kernelId = await this.ensureKernel(this.server);
        await this.openChannels(this.server, this.kernelId);
        const queued = this.queue.splice(0);
        for (const m of queued) this.toServer(m);
        return;
      } catch (err) {
        log(`cannot reach the alpine-kernel server yet (${errorMessage(err)}); retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  /** The kernel this bridge opened; a new one if the server no longer has it. */
  private async ensureKernel(server: RuntimeInfo): Promise<string> {
    if (this.kernelId) {
      const res = await fetch(`${server.url}/api/kernels/${this.kernelId}`, { headers: authHeaders(server) });
      if (res.ok) return this.kernelId;
      if (res.status !== 404) throw new Error(`server answered ${res.status} for the kernel`);
      log(`the server no longer has kernel ${this.kernelId}; opening a new one (the namespace is lost)`);
      this.warnFrontend(
        "alpine-kernel: the server lost this kernel's session; a new one was opened and the namespace is empty.\n",
      );
    }
    const notebook = process.env.JPY_SESSION_NAME ? basename(process.env.JPY_SESSION_NAME) : "";
    const python = jupyterPython();
    const res = await fetch(`${server.url}/api/kernels`, {
      method: "POST",
      headers: { ...authHeaders(server), "Content-Type": "application/json" },
      body: JSON.stringify({
        name: DEFAULT_KERNEL_NAME,
        env: {
          KERNEL_WORKING_DIR: process.cwd(),
          ...(notebook ? { KERNEL_NOTEBOOK: notebook } : {}),
          ...(python ? { KERNEL_JUPYTER_PYTHON: python } : {}),
          ...(this.profile ? { KERNEL_PROFILE: this.profile } : {}),
        },
      }),
    });
    if (!res.ok) throw new Error(`starting a kernel failed: ${res.status} ${await res.text()}`);
    const model = (await res.json()) as { id?: unknown };
    if (typeof model.id !== "string") throw new Error("the server's kernel model has no id");
    return model.id;
  }

  private warnFrontend(text: string): void {
    void this.front.send(
      "iopub",
      [],
      makeMessage("iopub", "stream", { name: "stderr", text }, {}, this.clientId),
    );
  }

  private openChannels(server: RuntimeInfo, kernelId: string): Promise<void> {
    const url = `${server.url.replace(/^http/, "ws")}/api/kernels/${kernelId}/channels?session_id=${this.clientId}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, [V1_PROTOCOL], {
        headers: authHeaders(server),
        perMessageDeflate: false,
      });
      ws.once("open", () => {
        this.ws = ws;
        resolve();
      });
      ws.once("error", reject);
      ws.on("message", (data: Buffer, isBinary: boolean) => this.fromServer(data, isBinary));
      ws.on("close", () => {
        if (this.ws !== ws) return;
        this.ws = undefined;
        if (!this.stopping && !this.shutDown) {
          log("connection to the server closed; reconnecting");
          void this.connect();
        }
      });
    });
  }

  private async deleteKernel(): Promise<void> {
    if (!this.server || !this.kernelId) return;
    try {
      await fetch(`${this.server.url}/api/kernels/${this.kernelId}`, {
        method: "DELETE",
        headers: authHeaders(this.server),
      });
    } catch {
      // the server may be gone already
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ws?.close();
    await new Promise((r) => setTimeout(r, 50)); // let the last ZMQ frames leave
    this.front.close();
    this.resolveStopped();
  }
}

export async function runBridge(connectionFile: string, profile?: string): Promise<void> {
  const bridge = new KernelBridge(connectionFile, profile);
  await bridge.start();
  await bridge.stopped;
}
