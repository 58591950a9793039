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
  /** Messages, and what waits for them to be delivered (afterDelivery), in order. */
  private readonly unsent: (OutgoingMessage | (() => void))[] = [];
  private closed = false;

  get count(): number {
    return this.clients.size;
  }

  attach(client: SessionClient): void {
    this.clients.set(client.id, client);
    for (const item of this.unsent.splice(0)) {
      if (typeof item === "function") this.afterDelivery(item);
      else client.send(item);
    }
  }

  /**
   * Runs `fn` once every message broadcast so far has left this process for every frontend attached
   * — with none attached, once the next one has been sent what was kept for it. What a cell records
   * as delivered (its output offsets, its end) waits for this: a server killed at any moment then
   * sends again what never left it, and nothing that did.
   */
  afterDelivery(fn: () => void): void {
    if (this.closed) return fn();
    const clients = [...this.clients.values()];
    if (!clients.length) {
      this.unsent.push(fn);
      return;
    }
    let waiting = clients.length;
    const one = () => {
      if (--waiting === 0) fn();
    };
    for (const c of clients) {
      if (c.whenSent) c.whenSent(one);
      else one();
    }
  }

  detach(client: SessionClient): void {
    if (this.clients.get(client.id) === client) this.clients.delete(client.id);
  }

  /** To every frontend attached; with none, kept for the next one. */
  broadcast(msg: OutgoingMessage): void {
    if (this.clients.size > 0) {
      for (const c of this.clients.values()) c.send(msg);
    } else if (!this.closed) {
      if (this.unsent.length >= UNSENT_LIMIT) {
        const dropped = this.unsent.shift();
        if (typeof dropped === "function") dropped();
      }
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
    for (const item of this.unsent.splice(0)) if (typeof item === "function") item();
    for (const c of this.clients.values()) c.close?.(reason);
    this.clients.clear();
  }
}
