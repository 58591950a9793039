/**
 * The frontends attached to a session (the kernel bridge, JupyterLab tabs, gateway clients), and
 * what was sent while none was: Jupyter Server buffers a disconnected session's messages the same
 * way, so output read while a bridge reconnects after a server restart is not lost.
 */
import type { OutgoingMessage, SessionClient } from "./client";

/** Messages kept for the next frontend while none is attached. */
const UNSENT_LIMIT = 5000;

export class Frontends {
  private readonly clients = new Map<string, SessionClient>();
  private readonly unsent: OutgoingMessage[] = [];
  private closed = false;

  get count(): number {
    return this.clients.size;
  }

  attach(client: SessionClient): void {
    this.clients.set(client.id, client);
    for (const msg of this.unsent.splice(0)) client.send(msg);
  }

  detach(client: SessionClient): void {
    if (this.clients.get(client.id) === client) this.clients.delete(client.id);
  }

  /** To every frontend attached; with none, kept for the next one. */
  broadcast(msg: OutgoingMessage): void {
    if (this.clients.size > 0) {
      for (const c of this.clients.values()) c.send(msg);
    } else if (!this.closed) {
      if (this.unsent.length >= UNSENT_LIMIT) this.unsent.shift();
      this.unsent.push(msg);
    }
  }

  /** To the client that asked; if it went away (reconnecting bridge), to everyone attached. */
  send(clientId: string, msg: OutgoingMessage): void {
    const client = this.clients.get(clientId);
    if (client) return client.send(msg);
    this.broadcast(msg);
  }

  /** Ends every connection (the kernel was shut down, as Jupyter Server closes a deleted kernel's channels). */
  closeAll(reason: string): void {
    this.closed = true;
    this.unsent.length = 0;
    for (const c of this.clients.values()) c.close?.(reason);
    this.clients.clear();
  }
}
