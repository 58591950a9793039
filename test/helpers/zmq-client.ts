/**
 * A small Jupyter frontend over real ZeroMQ sockets (the `zeromq` package), written independently of
 * src/protocol: it signs and checks HMACs itself, and can send any frames, well-formed or not.
 */
import { createHmac, randomUUID } from "node:crypto";
import * as zmq from "zeromq";
import type { ConnectionInfo } from "./processes";

export type ZmqChannel = "shell" | "control" | "stdin" | "iopub";

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface WireMessage {
  channel: ZmqChannel;
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  /** Seconds since the client connected, when it arrived. */
  at: number;
}

export const DELIMITER = "<IDS|MSG>";

export class ZmqKernelClient {
  readonly session = randomUUID();
  private readonly dealers: Record<"shell" | "control" | "stdin", zmq.Dealer>;
  private readonly iopubSocket = new zmq.Subscriber();
  private readonly chains = new Map<zmq.Socket, Promise<unknown>>();
  /** Unclaimed replies per channel (take() removes them); iopub keeps everything. */
  private readonly inbox: Record<"shell" | "control" | "stdin", WireMessage[]> = {
    shell: [],
    control: [],
    stdin: [],
  };
  readonly iopub: WireMessage[] = [];
  /** Messages from the kernel whose signature did not verify (must stay 0). */
  readonly badlySigned: string[] = [];
  private listeners = new Set<() => void>();
  /** Requests whose replies nobody waits for any more (waitForReady's retries): dropped on arrival. */
  private readonly unwanted = new Set<string>();
  private readonly t0 = Date.now();
  private closed = false;

  constructor(readonly info: ConnectionInfo) {
    const id = randomUUID();
    this.dealers = {
      shell: new zmq.Dealer({ routingId: `shell-${id}`, linger: 0 }),
      control: new zmq.Dealer({ routingId: `control-${id}`, linger: 0 }),
      stdin: new zmq.Dealer({ routingId: `stdin-${id}`, linger: 0 }),
    };
    this.iopubSocket.linger = 0;
    const ep = (port: number) => `tcp://${info.ip}:${port}`;
    this.dealers.shell.connect(ep(info.shell_port));
    this.dealers.control.connect(ep(info.control_port));
    this.dealers.stdin.connect(ep(info.stdin_port));
    this.iopubSocket.connect(ep(info.iopub_port));
    this.iopubSocket.subscribe();
    for (const ch of ["shell", "control", "stdin"] as const) void this.pump(ch, this.dealers[ch]);
    void this.pump("iopub", this.iopubSocket);
  }

  sign(parts: readonly Buffer[]): string {
    if (!this.info.key) return "";
    const digest = this.info.signature_scheme.replace(/^hmac-/, "");
    const h = createHmac(digest, this.info.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  private async pump(channel: ZmqChannel, sock: zmq.Dealer | zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of sock) {
        const i = frames.findIndex((f) => f.toString() === DELIMITER);
        if (i < 0 || frames.length < i + 6) {
          this.badlySigned.push(`${channel}: malformed frames from the kernel`);
          continue;
        }
        const [sig, h, p, m, c] = frames.slice(i + 1, i + 6) as [Buffer, Buffer, Buffer, Buffer, Buffer];
        if (sig.toString() !== this.sign([h, p, m, c])) this.badlySigned.push(`${channel}: ${h.toString()}`);
        const msg: WireMessage = {
          channel,
          header: JSON.parse(h.toString()) as Header,
          parent_header: JSON.parse(p.toString()) as Partial<Header>,
          metadata: JSON.parse(m.toString()) as Record<string, unknown>,
          content: JSON.parse(c.toString()) as Record<string, unknown>,
          at: (Date.now() - this.t0) / 1000,
        };
        if (channel === "iopub") this.iopub.push(msg);
        else if (!this.unwanted.delete(String(msg.parent_header.msg_id))) this.inbox[channel].push(msg);
        for (const l of [...this.listeners]) l();
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** Sends frames on a socket, one send at a time (zeromq v6 takes one pending send per socket). */
  sendFrames(channel: "shell" | "control" | "stdin", frames: (Buffer | string)[]): Promise<void> {
    const sock = this.dealers[channel];
    const next = (this.chains.get(sock) ?? Promise.resolve()).then(() => sock.send(frames));
    this.chains.set(
      sock,
      next.catch(() => {}),
    );
    return next;
  }

  /** The frames of a well-formed, signed message (after the routing id the DEALER adds). */
  frames(
    msgType: string,
    content: unknown,
    parent: Partial<Header> = {},
    headerPatch: Partial<Header> = {},
  ): { msgId: string; frames: Buffer[] } {
    const header: Header = {
      msg_id: randomUUID(),
      session: this.session,
      username: "test",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
      ...headerPatch,
    };
    const parts = [header, parent, {}, content].map((o) => Buffer.from(JSON.stringify(o)));
    return {
      msgId: header.msg_id,
      frames: [Buffer.from(DELIMITER), Buffer.from(this.sign(parts)), ...parts],
    };
  }

  async send(
    channel: "shell" | "control" | "stdin",
    msgType: string,
    content: unknown,
    parent: Partial<Header> = {},
  ): Promise<string> {
    const { msgId, frames } = this.frames(msgType, content, parent);
    await this.sendFrames(channel, frames);
    return msgId;
  }

  private wait(timeoutMs: number, what: string, check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  /** The next unclaimed message on a channel, whatever it is. */
  async next(channel: "shell" | "control" | "stdin", timeoutMs = 10_000): Promise<WireMessage> {
    await this.wait(timeoutMs, `a message on ${channel}`, () => this.inbox[channel].length > 0);
    return this.inbox[channel].shift()!;
  }

  /** The reply (on `channel`) to the request `msgId`. */
  async reply(
    channel: "shell" | "control" | "stdin",
    msgId: string,
    timeoutMs = 10_000,
  ): Promise<WireMessage> {
    const find = () => this.inbox[channel].findIndex((m) => m.parent_header.msg_id === msgId);
    await this.wait(timeoutMs, `the reply to ${msgId} on ${channel}`, () => find() >= 0);
    return this.inbox[channel].splice(find(), 1)[0]!;
  }

  pending(channel: "shell" | "control" | "stdin"): WireMessage[] {
    return [...this.inbox[channel]];
  }

  async request(
    channel: "shell" | "control",
    msgType: string,
    content: unknown = {},
    timeoutMs = 10_000,
  ): Promise<WireMessage> {
    const id = await this.send(channel, msgType, content);
    return this.reply(channel, id, timeoutMs);
  }

  iopubFor(msgId: string): WireMessage[] {
    return this.iopub.filter((m) => m.parent_header.msg_id === msgId);
  }

  async idle(msgId: string, timeoutMs = 10_000): Promise<void> {
    await this.wait(timeoutMs, `status idle for ${msgId}`, () =>
      this.iopub.some(
        (m) =>
          m.parent_header.msg_id === msgId &&
          m.header.msg_type === "status" &&
          m.content.execution_state === "idle",
      ),
    );
  }

  /** Like jupyter_client's wait_for_ready: kernel_info until a reply and its iopub status arrive. */
  async waitForReady(timeoutMs = 30_000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    const tried: string[] = [];
    for (;;) {
      const id = await this.send("shell", "kernel_info_request", {});
      tried.push(id);
      try {
        const reply = await this.reply("shell", id, 2000);
        await this.idle(id, 2000);
        // A slow start (a loaded machine) answers the earlier tries later: those replies must not
        // be taken for the replies to the test's own requests.
        for (const earlier of tried.slice(0, -1)) {
          const at = this.inbox.shell.findIndex((m) => m.parent_header.msg_id === earlier);
          if (at >= 0) this.inbox.shell.splice(at, 1);
          else this.unwanted.add(earlier);
        }
        return reply;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`kernel not ready within ${timeoutMs} ms: ${(err as Error).message}`);
      }
    }
  }

  /** Runs code; answers input requests with `inputs` in turn; resolves with the reply and the cell's iopub messages. */
  async execute(
    code: string,
    opts: {
      allowStdin?: boolean;
      stopOnError?: boolean;
      inputs?: string[];
      timeoutMs?: number;
      waitIdle?: boolean;
    } = {},
  ): Promise<{ msgId: string; reply: WireMessage; iopub: WireMessage[]; prompts: string[] }> {
    const msgId = await this.startExecute(code, opts);
    return this.finishExecute(msgId, opts);
  }

  startExecute(code: string, opts: { allowStdin?: boolean; stopOnError?: boolean } = {}): Promise<string> {
    return this.send("shell", "execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: opts.allowStdin ?? false,
      stop_on_error: opts.stopOnError ?? true,
    });
  }

  async finishExecute(
    msgId: string,
    opts: { inputs?: string[]; timeoutMs?: number; waitIdle?: boolean } = {},
  ): Promise<{ msgId: string; reply: WireMessage; iopub: WireMessage[]; prompts: string[] }> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const inputs = [...(opts.inputs ?? [])];
    const prompts: string[] = [];
    const answering = (async () => {
      while (inputs.length > 0) {
        const req = await this.next("stdin", timeoutMs);
        if (req.header.msg_type !== "input_request") continue;
        prompts.push(String(req.content.prompt));
        await this.send("stdin", "input_reply", { value: inputs.shift() }, req.header);
      }
    })();
    const reply = await this.reply("shell", msgId, timeoutMs);
    if (opts.waitIdle !== false) await this.idle(msgId, 5000);
    await Promise.race([answering, new Promise((r) => setTimeout(r, 10))]);
    return { msgId, reply, iopub: this.iopubFor(msgId), prompts };
  }

  /** True when the heartbeat socket echoes what it is sent (a fresh REQ socket each time, as a timed-out REQ is stuck). */
  async heartbeat(timeoutMs = 3000): Promise<boolean> {
    const hb = new zmq.Request({ receiveTimeout: timeoutMs, sendTimeout: timeoutMs, linger: 0 });
    hb.connect(`tcp://${this.info.ip}:${this.info.hb_port}`);
    const ping = Buffer.from(`ping-${randomUUID()}`);
    try {
      await hb.send(ping);
      const [echo] = await hb.receive();
      return echo?.equals(ping) ?? false;
    } catch {
      return false;
    } finally {
      hb.close();
    }
  }

  close(): void {
    this.closed = true;
    for (const s of [...Object.values(this.dealers), this.iopubSocket]) s.close();
  }
}

/** Text of the cell's stream messages, in order. */
export function streamText(iopub: WireMessage[], name?: "stdout" | "stderr"): string {
  return iopub
    .filter((m) => m.header.msg_type === "stream" && (!name || m.content.name === name))
    .map((m) => String(m.content.text))
    .join("");
}
