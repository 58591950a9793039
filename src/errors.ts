/**
 * Typed errors with stable codes. Every error a user can see says what happened and what to do;
 * programs branch on `code`, never on the message text.
 */
export class AlpineKernelError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a user or a peer (config file, REST body, magic line, frame). */
export class InputError extends AlpineKernelError {}

/** Anything that goes wrong talking to the cluster (a command, a file, a connection). */
export class ClusterError extends AlpineKernelError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A stable error name for a cell's error from an error code: AUTH_FAILED → AuthFailed. */
export function errorName(code: string): string {
  return code
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}
