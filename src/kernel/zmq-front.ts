/**
 * The ZeroMQ side of the kernel bridge: the five sockets of a Jupyter kernel, bound as the connection
 * file says. Messages are verified (HMAC) and decoded here; a bad one is dropped and logged.
 */
import * as zmq from "zeromq";
import type { Channel, OutgoingMessage, RawMessage } from "../protocol/messages";
import { endpoint, type ConnectionInfo } from "../protocol/connection-file";
import { WireCodec } from "../protocol/wire";
import { errorMessage } from "../errors";

type RequestChannel = "shell" | "control" | "stdin";

export interface Incoming {
  ids: Buffer[];
  message: RawMessage;
}

/** One pending send per zmq v6 socket: chain them. */
function serialSender(sock: zmq.Writable & zmq.Socket, onError: (e: unknown) => void) {
  let chain: Promise<void> = Promise.resolve();
  return (frames: Buffer[]) => {
    chain = chain.then(() => sock.send(frames)).catch(onError);
    return chain;
  };
}

export class ZmqFront {
  private readonly codec: WireCodec;
  private readonly routers: Record<RequestChannel, zmq.Router>;
  private readonly iopub = new zmq.Publisher();
  private readonly hb = new zmq.Reply();
  private readonly senders: Record<RequestChannel | "iopub", (frames: Buffer[]) => Promise<void>>;
  private closed = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly onMessage: (incoming: Incoming) => void,
    private readonly log: (message: string) => void,
    maxMessageBytes: number,
  ) {
    this.codec = new WireCodec(info.key, info.signature_scheme);
    // libzmq disconnects a peer whose frame announces more than this, before reading it: nothing
    // that large is buffered, signed or not (any local user can reach these ports).
    const router = () => new zmq.Router({ maxMessageSize: maxMessageBytes });
    this.routers = { shell: router(), control: router(), stdin: router() };
    const onError = (e: unknown) => this.log(`zmq send failed: ${errorMessage(e)}`);
    this.senders = {
      shell: serialSender(this.routers.shell, onError),
      control: serialSender(this.routers.control, onError),
      stdin: serialSender(this.routers.stdin, onError),
      iopub: serialSender(this.iopub, onError),
    };
  }

  /** A new limit, for connections made from now on (libzmq reads it when a peer connects). */
  setMaxMessageBytes(bytes: number): void {
    for (const r of Object.values(this.routers)) r.maxMessageSize = bytes;
  }

  async bind(): Promise<void> {
    const i = this.info;
    await Promise.all([
      this.routers.shell.bind(endpoint(i, i.shell_port)),
      this.routers.control.bind(endpoint(i, i.control_port)),
      this.routers.stdin.bind(endpoint(i, i.stdin_port)),
      this.iopub.bind(endpoint(i, i.iopub_port)),
      this.hb.bind(endpoint(i, i.hb_port)),
    ]);
    // These run until the sockets close; they log their own failures and never reject.
    for (const ch of ["shell", "control", "stdin"] as const) void this.pump(ch);
    void this.heartbeat();
  }

  private async pump(channel: RequestChannel): Promise<void> {
    try {
      for await (const frames of this.routers[channel]) {
        try {
          this.onMessage(this.codec.decode(channel, frames));
        } catch (err) {
          this.log(`dropped a bad message on ${channel}: ${errorMessage(err)}`);
        }
      }
    } catch (err) {
      if (!this.closed) this.log(`${channel} socket failed: ${errorMessage(err)}`);
    }
  }

  /** The heartbeat is answered here, whatever the server is doing. */
  private async heartbeat(): Promise<void> {
    try {
      for await (const frames of this.hb) await this.hb.send(frames);
    } catch (err) {
      if (!this.closed) this.log(`heartbeat socket failed: ${errorMessage(err)}`);
    }
  }

  /** Resolves once sent; never rejects (a failed send is logged), so callers may leave it floating. */
  send(channel: Channel, ids: Buffer[], msg: OutgoingMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (channel === "iopub") {
      const topic = Buffer.from(`kernel.${msg.header.session}.${msg.header.msg_type}`);
      return this.senders.iopub(this.codec.encode([topic], msg));
    }
    return this.senders[channel](this.codec.encode(ids, msg));
  }

  close(): void {
    this.closed = true;
    for (const s of [...Object.values(this.routers), this.iopub, this.hb]) s.close();
  }
}
