/**
 * Telling a Slurm controller that does not answer (restarting, overloaded, frozen, unreachable)
 * from one that answered "no". An outage is waited out — never reported as a failed cell —, a
 * refusal is the user's to fix. The words are Slurm's own (slurm_strerror texts of 22.05–24.x).
 */
import { AlpineKernelError, errorMessage } from "../../errors";
import { CommandError } from "../../cluster/transport";

const OUTAGE =
  /Socket timed out|Unable to contact slurm controller|connect(ion)? failure|Connection refused|Connection timed out|Zero Bytes were transmitted|Communication connection failure|backup controller in standby|Slurm controller not responding|Transport endpoint is not connected|Resource temporarily unavailable|Unable to establish (a )?connection|timed out after \d+ ms/i;

/** Errors that say the controller never received the request: no job can have been queued. */
const NEVER_SENT = /Unable to contact slurm controller \(connect failure\)|Connection refused/i;

/** The command failed because Slurm (or the way to it) did not answer, not because it said no. */
export function isOutage(err: unknown): boolean {
  if (err instanceof AlpineKernelError && err.code === "CONNECTION_LOST") return true;
  if (!(err instanceof CommandError) || err.exitCode === 127) return false;
  return OUTAGE.test(`${err.stderr}\n${err.stdout}\n${errorMessage(err)}`);
}

/** An sbatch that failed this way may still have queued its job (the answer, not the request, was lost). */
export function mayHaveQueued(err: unknown): boolean {
  return !(err instanceof CommandError && NEVER_SENT.test(err.stderr));
}

/** The first line of what went wrong, for a status line. */
export function outageWords(err: unknown): string {
  const text = err instanceof CommandError ? err.stderr.trim() || errorMessage(err) : errorMessage(err);
  return (
    text
      .split("\n")
      .map((l) => l.replace(/^\w+: error: /, "").trim())
      .filter(Boolean)
      .pop() ?? "no answer"
  );
}

/** Waits between retries: 1 s doubling to 30 s, each ±30 % at random so that many servers do not retry in step. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** attempt, 30_000);
  return Math.round(base * (0.7 + 0.6 * random()));
}

/** The submission was withdrawn (interrupt, shutdown) while Slurm did not answer; no job exists. */
export class SubmitCancelledError extends AlpineKernelError {
  constructor(message: string) {
    super("SUBMIT_CANCELLED", message);
  }
}
