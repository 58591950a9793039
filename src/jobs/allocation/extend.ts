/**
 * Asking Slurm for more time on a running allocation: `scontrol update JobId=N TimeLimit=+D`.
 * Slurm lets only its operators and administrators raise a time limit (users may only lower one):
 * on Alpine that is everyone's case, so the kernel says so instead of failing obscurely, and
 * offers `%slurm extend` only to those Slurm lets (their AdminLevel, asked once).
 */
import type { Transport } from "../../cluster/transport";
import { CommandError } from "../../cluster/transport";
import { AlpineKernelError } from "../../errors";
import { formatDuration } from "../slurm/slurm-time";

export class ExtendRefused extends AlpineKernelError {
  constructor(
    readonly slurmMessage: string,
    message: string,
  ) {
    super("EXTEND_REFUSED", message);
  }
}

/** Whether Slurm lets this user raise time limits (AdminLevel Operator or Administrator). */
export async function mayExtend(transport: Transport): Promise<boolean> {
  try {
    const { stdout } = await transport.run(
      ["sacctmgr", "--noheader", "--parsable2", "show", "user", transport.user, "format=AdminLevel"],
      { timeoutMs: 30_000 },
    );
    return /^(operator|administrator)$/i.test(stdout.trim().split("\n")[0]?.trim() ?? "");
  } catch {
    return false;
  }
}

export const ADMIN_ONLY =
  "Slurm lets only its operators and administrators raise a running job's time limit (on Alpine too)";

/** Adds `seconds` to the job's time limit; throws `ExtendRefused` with Slurm's own words. */
export async function extendJob(transport: Transport, jobId: string, seconds: number): Promise<void> {
  try {
    await transport.run(["scontrol", "update", `JobId=${jobId}`, `TimeLimit=+${formatDuration(seconds)}`], {
      timeoutMs: 60_000,
    });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const said = (err.stderr || err.stdout).trim().split("\n").pop() ?? `exit code ${err.exitCode}`;
    const why = /permission denied|not authorized|access denied/i.test(said)
      ? `${ADMIN_ONLY}. Before the allocation ends its namespace is saved; \`%slurm allocate\` then starts a new allocation from it.`
      : "Check the job's partition and QoS limits (scontrol show job, sacctmgr show qos).";
    throw new ExtendRefused(said, `Slurm refused to extend allocation ${jobId}: ${said}. ${why}`);
  }
}
