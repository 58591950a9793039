/**
 * Why a cell's job ended without its end marker, told as a failure a person can act on, with a
 * stable `name` a program can test. Neutral: the session decides how a frontend shows it.
 */
import { SETUP_FAILED_MARKER } from "./job-script";
import type { FinalJobStatus } from "./scheduler";

/** What the cell asked for, to say "hit --time=1:00:00" and "raise it with ...". */
export interface RequestedResources {
  time?: string;
  mem?: string;
  partition?: string;
  /** The job's billing TRES (service units per hour on Alpine), when the partition's weights tell it. */
  billing?: number;
  /** The time limit it runs under (its --time or the partition's default), seconds. */
  limitSeconds?: number;
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

/** How a job failed: a stable name ("SlurmTimeout"), a sentence saying what to do, and evidence. */
export interface JobFailure {
  name: string;
  message: string;
  /** Lines worth showing under the message (the job's last stderr lines). */
  details: string[];
}

function err(name: string, message: string, details: string[] = []): JobFailure {
  return { name, message, details };
}

/** What ran in the job: the cell's Python (through the runner), or a %%bash cell's own script. */
export type JobSubject = "python" | "script";

export function diagnoseDeath(
  final: FinalJobStatus,
  started: boolean,
  stderrTail: string,
  requested: RequestedResources = {},
  subject: JobSubject = "python",
): JobFailure {
  const tail = lastLines(stderrTail, 15);
  const withTail = tail ? ["", "Last lines of the job's stderr:", tail] : [];
  const job = final.jobId.startsWith("local-") ? "the cell's process" : `job ${final.jobId}`;

  const setup = stderrTail.split("\n").find((l) => l.includes(SETUP_FAILED_MARKER));
  if (setup) {
    const what = setup.slice(setup.indexOf(SETUP_FAILED_MARKER) + SETUP_FAILED_MARKER.length).trim();
    return err(
      "EnvironmentSetupFailed",
      `the cell's environment could not be set up: '${what}' failed. Run \`alpine-kernel doctor\`: it checks the 'environment' section of your configuration (modules, conda_env, setup) and says what to fix; the job's stderr is below.`,
      withTail,
    );
  }
  switch (final.state) {
    case "TIMEOUT":
      return err(
        "SlurmTimeout",
        `the cell hit its time limit${requested.time ? ` --time=${requested.time}` : ""}${final.elapsed ? ` after ${final.elapsed}` : ""}; raise it with %%slurm --time ...`,
        withTail,
      );
    case "OUT_OF_MEMORY":
      return oom(final, requested, withTail);
    case "CANCELLED":
      if (/exceeded (job )?memory limit/i.test(stderrTail)) return oom(final, requested, withTail);
      return err(
        "SlurmCancelled",
        `${job} was cancelled${final.elapsed ? ` after ${final.elapsed}` : ""} before the cell finished.`,
        withTail,
      );
    case "NODE_FAIL":
      return err(
        "SlurmNodeFail",
        `the node running ${job}${final.node ? ` (${final.node})` : ""} failed; run the cell again.`,
        withTail,
      );
    case "PREEMPTED":
      return err(
        "SlurmPreempted",
        `${job} was preempted by a higher-priority job; run the cell again (add --requeue to have Slurm retry it).`,
        withTail,
      );
    case "BOOT_FAIL":
    case "DEADLINE":
      return err(
        `Slurm${final.state === "BOOT_FAIL" ? "BootFail" : "Deadline"}`,
        `${job} ended in state ${final.state}.`,
        withTail,
      );
    default:
      break;
  }
  if (/exceeded (job )?memory limit/i.test(stderrTail)) return oom(final, requested, withTail);
  if (final.unknown) {
    return err(
      "CellProcessDied",
      `${job} ended while the server was not watching, without finishing the cell; its exit status is unknown.`,
      withTail,
    );
  }
  if (!started) {
    return err(
      "CellNotStarted",
      `${job} ended (${final.state}, exit code ${final.exitCode}) before the ${subject === "script" ? "cell's script" : "cell runner"} started.`,
      withTail,
    );
  }
  const how = final.signal ? `was killed by signal ${final.signal}` : `exited with code ${final.exitCode}`;
  return err(
    "CellProcessDied",
    subject === "script"
      ? `the cell's script ${how} without finishing (a kill, or the script replaced the kernel's EXIT trap).`
      : `the cell's Python process ${how} before the cell finished (os._exit, a crash, or a kill).`,
    withTail,
  );
}

function oom(final: FinalJobStatus, requested: RequestedResources, details: string[]): JobFailure {
  const used = final.maxRss ? `the cell used ${final.maxRss} (MaxRSS)` : "the cell ran out of memory";
  const limit = requested.mem ?? final.reqMem;
  return err(
    "SlurmOutOfMemory",
    `${used}${limit ? ` and hit --mem=${limit}` : ""}; ask for more with %%slurm --mem ...`,
    details,
  );
}

/**
 * A job whose `--after` dependency failed: Slurm keeps it pending for ever (reason
 * DependencyNeverSatisfied), or cancels it where the site sets kill_invalid_depend.
 * @param waitedFor what it waited for, as the user knows it: "cell 12 (job 4519)".
 */
export function dependencyFailure(
  jobId: string,
  waitedFor: readonly string[],
  cancelledBySlurm = false,
): JobFailure {
  const what = waitedFor.length ? waitedFor.join(" and ") : "the job it depends on";
  const how = cancelledBySlurm ? "Slurm cancelled it" : "its job was cancelled";
  return err(
    "DependencyNeverSatisfied",
    `job ${jobId} can never start: it runs only after ${what} completed successfully (--after), and ${waitedFor.length > 1 ? "one of them" : "that"} failed; ${how}. Run ${waitedFor.length > 1 ? "them" : "it"} again, then this cell.`,
  );
}
