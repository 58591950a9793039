/**
 * Typed errors with stable codes. Every error a user can see says what happened and what to do;
 * programs branch on `code`, never on the message text.
 */
/** Every error code alpine-kernel uses; the cell-facing name is derived from it (errorName). */
export type ErrorCode =
  // bad input: configuration, magics, frames, files the user gave
  | "CONFIG"
  | "BAD_MAGIC"
  | "BAD_SLURM_VALUE"
  | "BAD_SBATCH_OPTION"
  | "PROTOCOL"
  | "BAD_NOTEBOOK"
  | "NO_SUCH_KERNEL"
  | "BAD_RUNNER_EVENT"
  | "BAD_NAMESPACE_INDEX"
  | "BAD_HISTORY_PATTERN"
  | "BAD_UMASK"
  | "CELL_TOO_LARGE"
  | "BAD_JOB_VALUE"
  | "BAD_ALLOCATION_EVENT"
  | "BAD_SSH_CONFIG"
  | "BAD_SSH_OPTION"
  | "SSH_CONFIG_UNREADABLE"
  | "BAD_KNOWN_HOSTS_LINE"
  | "KNOWN_HOSTS_UNREADABLE"
  | "BAD_HOST"
  | "BAD_USER"
  | "BAD_KEY"
  | "BAD_JOB_ID"
  | "BAD_KERNEL_NAME"
  | "BAD_ANSWER"
  | "BAD_TRANSFER"
  | "DEMO_PYTHON"
  | "LOGIN_FAILED"
  | "LOGIN_TIMEOUT"
  | "NO_JUPYTER"
  | "NOT_INSTALLED"
  | "NOT_BUILT"
  | "NO_SUCH_PROFILE"
  | "NO_ACCOUNT"
  | "BAD_ENV_FILE"
  | "CONFIG_EXISTS"
  // the cluster: commands, Slurm, the SSH connection and its login prompts
  | "COMMAND_FAILED"
  | "SUBMIT_REFUSED"
  | "SUBMIT_CANCELLED"
  | "DISCOVERY_FAILED"
  | "BAD_SLURM_OUTPUT"
  | "CONNECT_FAILED"
  | "CONNECTION_LOST"
  | "AUTH_FAILED"
  | "UNKNOWN_HOST_KEY"
  | "CHANGED_HOST_KEY"
  | "BAD_HOST_KEY"
  | "KNOWN_HOSTS_WRITE_FAILED"
  | "PROMPT_TIMEOUT"
  | "PROMPT_CANCELLED"
  | "STREAM_LIMIT"
  // the introspection helper (completion and inspection in the cells' environment)
  | "HELPER_UNAVAILABLE"
  // the cells' environment: missing, unusable, or failing to build
  | "ENVIRONMENT_MISSING"
  | "PYTHON_TOO_OLD"
  | "ENV_EXISTS"
  | "ENV_BUILD_FAILED"
  // interactive allocations (%slurm allocate)
  | "ALLOCATION_GONE"
  | "ALLOCATION_NOT_READY"
  | "EXTEND_REFUSED"
  // the local server
  | "SERVER_UNAVAILABLE"
  | "LEDGER_RECORD_TOO_LARGE"
  | "ALREADY_RUNNING";

export class AlpineKernelError extends Error {
  constructor(
    readonly code: ErrorCode,
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
export function errorName(code: ErrorCode): string {
  return code
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}
