/** A frontend connected to a session: the kernel bridge, a JupyterLab tab, a notebook gateway client. */
import type { OutgoingMessage } from "../protocol/messages";

export type { OutgoingMessage };

export interface SessionClient {
  readonly id: string;
  send(msg: OutgoingMessage): void;
  /** Calls `fn` once every message sent so far has left this process (handed to the OS, or failed). */
  whenSent?(fn: () => void): void;
  /** Ends the connection: the kernel was shut down (as Jupyter Server closes a deleted kernel's channels). */
  close?(reason: string): void;
}
