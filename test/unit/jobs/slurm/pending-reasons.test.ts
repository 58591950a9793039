/** squeue's reason codes in plain words; unknown codes spelled out with the code kept. */
import { pendingReasonText } from "../../../../src/jobs/slurm/pending-reasons";

test.each<[string | undefined, string]>([
  ["Priority", "jobs with a higher priority go first"],
  ["Resources", "waiting for the nodes it needs to free up"],
  ["BeginTime", "its --begin time has not come yet"],
  ["None", "the scheduler has not looked at it yet"],
  [undefined, "the scheduler has not looked at it yet"],
  ["QOSMaxJobsPerUserLimit", "you have as many jobs running as your QoS allows"],
  ["QOSGrpMemLimit", "a limit of your QoS is reached (QoS group mem limit)"],
  ["AssocGrpGRES", "account group GRES (AssocGrpGRES)"],
  ["SomethingNew", "something new (SomethingNew)"],
])("%p → %s", (code, text) => expect(pendingReasonText(code)).toBe(text));
