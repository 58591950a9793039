/**
 * Why a job waits, in plain words: squeue's reason codes (`squeue --help`'s "JOB REASON CODES"
 * in squeue(1)) as a researcher would say them. Pure. Codes not in the table are spelled out from
 * their CamelCase, with the code itself kept, so nothing Slurm says is ever hidden.
 */

const REASONS: Readonly<Record<string, string>> = {
  None: "the scheduler has not looked at it yet",
  Priority: "jobs with a higher priority go first",
  Resources: "waiting for the nodes it needs to free up",
  BeginTime: "its --begin time has not come yet",
  Dependency: "waiting for the job it depends on",
  DependencyNeverSatisfied: "the job it depends on failed: it will never start",
  JobHeldUser: "held by you (scontrol release JOBID)",
  JobHeldAdmin: "held by an administrator",
  ReqNodeNotAvail: "a node it needs is unavailable (down, drained or reserved for maintenance)",
  Reservation: "waiting for its reservation to start",
  PartitionDown: "its partition is down",
  PartitionInactive: "its partition is not accepting jobs to start",
  PartitionNodeLimit: "it asks for more nodes than its partition allows",
  PartitionTimeLimit: "its --time is longer than its partition allows",
  PartitionConfig: "its partition cannot run what it asks for",
  NodeDown: "a node it needs is down",
  BadConstraints: "no node has the features it asks for (--constraint)",
  InvalidAccount: "its account is not valid (check --account)",
  InvalidQOS: "its QoS is not valid (check --qos)",
  Licenses: "waiting for a license",
  Cleaning: "being requeued: cleaning up after its last run",
  Prolog: "its node is running the prolog",
  BurstBufferResources: "waiting for burst buffer space",
  FrontEndDown: "no front end node is available",
  JobLaunchFailure: "its launch failed (file system or node trouble)",
  NonZeroExitCode: "held after a previous run failed",
  launch_failed_requeued_held: "held after a failed launch: scontrol release JOBID to try again",
  QOSMaxJobsPerUserLimit: "you have as many jobs running as your QoS allows",
  QOSMaxSubmitJobPerUserLimit: "you have as many jobs queued as your QoS allows",
  QOSMaxCpuPerUserLimit: "your running jobs use all the CPUs your QoS allows",
  QOSMaxGRESPerUser: "your running jobs use all the GPUs your QoS allows",
  QOSMaxWallDurationPerJobLimit: "its --time is longer than its QoS allows",
  AssocMaxJobsLimit: "your account has as many jobs running as it may",
  AssocGrpCpuLimit: "your account's jobs use all the CPUs it may",
  AssocGrpJobsLimit: "your account has as many jobs running as it may",
  AssocGrpBillingMinutes: "your account has used its service units",
};

/** "QOSGrpMemLimit" → "QoS group mem limit"; acronyms (GRES, CPU) stay. */
function spellOut(code: string): string {
  let prefix = "";
  let rest = code;
  if (rest.startsWith("QOS")) [prefix, rest] = ["QoS ", rest.slice(3)];
  else if (rest.startsWith("Assoc")) [prefix, rest] = ["account ", rest.slice(5)];
  const words = rest
    .replace(/Grp/g, "Group")
    .split(/(?<=[a-z])(?=[A-Z])|_/)
    .map((w) => (/^[A-Z0-9]{2,}$/.test(w) ? w : w.toLowerCase()));
  return `${prefix}${words.join(" ")}`.trim();
}

/** The reason a queued job waits, in plain words ("Priority" → "jobs with a higher priority go first"). */
export function pendingReasonText(code: string | undefined): string {
  const c = (code ?? "").trim();
  if (!c) return REASONS.None!;
  const known = REASONS[c];
  if (known) return known;
  if (/^(QOS|Assoc)\w*Limit$|^(QOS|Assoc)\w*(PerUser|PerJob|Minutes)$/.test(c))
    return `a limit of your ${c.startsWith("QOS") ? "QoS" : "account"} is reached (${spellOut(c)})`;
  return `${spellOut(c)} (${c})`;
}
