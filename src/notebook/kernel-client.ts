/**
 * A small client of a kernel on the alpine-kernel server over its WebSocket (v1 framing): enough to
 * run notebooks headless. Interactive frontends use Jupyter's own clients.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { makeMessage } from "../protocol/make-message";
import { hasParent, type ExecuteReplyContent, type RawMessage } from "../protocol/messages";
import { V1_PROTOCOL, decodeWsMessage, encodeWsMessage } from "../protocol/ws-framing";

export interface ServerAddress {
  url: string;
  token: string;
}

type Pending = {
  onIopub: (msg: RawMessage) => void;
  reply?: ExecuteReplyContent;
  idle: boolean;
  done: () => void;
};

export class KernelClient {
  private readonly pending = new Map<string, Pending>();
  private readonly session = randomUUID();

  private constructor(
    private readonly server: ServerAddress,
    readonly kernelId: string,
    private readonly ws: WebSocket,
  ) {
    ws.on("message", (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
  }

  static async open(
    server: ServerAddress,
    opts: { workDir: string; notebook: string },
  ): Promise<KernelClient> {
    const headers = { Authorization: `token ${server.token}`, "Content-Type": "application/json" };
    const res = await fetch(`${server.url}/api/kernels`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        name: "alpine",
        env: { KERNEL_WORKING_DIR: opts.workDir, KERNEL_NOTEBOOK: opts.notebook },
      }),
    });
    if (!res.ok) throw new Error(`the server refused to start a kernel: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    const ws = new WebSocket(
      `${server.url.replace(/^http/, "ws")}/api/kernels/${id}/channels`,
      [V1_PROTOCOL],
      { headers },
    );
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new KernelClient(server, id, ws);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    const msg = decodeWsMessage("v1", data, isBinary);
    if (!hasParent(msg)) return;
    const p = this.pending.get(msg.parent_header.msg_id);
    if (!p) return;
    if (msg.channel === "iopub") {
      if (msg.header.msg_type === "status" && msg.content.execution_state === "idle") p.idle = true;
      else p.onIopub(msg);
    } else if (msg.header.msg_type === "execute_reply") {
      p.reply = msg.content as unknown as ExecuteReplyContent;
    }
    if (p.idle && p.reply) p.done();
  }

  /** Runs code; iopub messages of this execution go to onIopub; resolves with the execute_reply. */
  execute(code: string, onIopub: (msg: RawMessage) => void): Promise<ExecuteReplyContent> {
    const msg = makeMessage(
      "shell",
      "execute_request",
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      },
      {},
      this.session,
    );
    return new Promise((resolve) => {
      const p: Pending = {
        onIopub,
        idle: false,
        done: () => {
          this.pending.delete(msg.header.msg_id);
          resolve(p.reply!);
        },
      };
      this.pending.set(msg.header.msg_id, p);
      this.ws.send(encodeWsMessage("v1", msg));
    });
  }

  async interrupt(): Promise<void> {
    await fetch(`${this.server.url}/api/kernels/${this.kernelId}/interrupt`, {
      method: "POST",
      headers: { Authorization: `token ${this.server.token}` },
    });
  }

  async shutdown(): Promise<void> {
    this.ws.close();
    await fetch(`${this.server.url}/api/kernels/${this.kernelId}`, {
      method: "DELETE",
      headers: { Authorization: `token ${this.server.token}` },
    });
  }
}
