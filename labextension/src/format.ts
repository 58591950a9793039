/**
 * What a row of the jobs panel and of the queue page says, from a JobView and the time now. Pure,
 * no JupyterLab: the panel and the standalone queue page both use it.
 */
import { cellLabel, clockText, stateWords, type JobView } from "../../src/protocol/jobs-feed.js";

export { cellLabel, clockText, stateWords };

/** The state filter's choices. */
export type StateFilter = "all" | "active" | "queued" | "running" | "ended" | "failed";

export function matchesState(v: JobView, f: StateFilter): boolean {
  switch (f) {
    case "all":
      return true;
    case "active":
      return v.phase !== "ended";
    case "queued":
      return v.phase === "queued";
    case "running":
      return v.phase === "running" || v.phase === "ending";
    case "ended":
      return v.phase === "ended";
    case "failed":
      return v.phase === "ended" && v.end?.outcome !== "completed";
  }
}

/** A held allocation's row (`%slurm allocate`), not a cell's. */
export const isAllocation = (v: JobView): boolean => v.kind === "allocation";

/** "2 running · 3 queued" (the status bar's words: cells), then " · 1 allocation held" when one is. */
export function countsText(jobs: Iterable<JobView>): string {
  let running = 0;
  let queued = 0;
  let held = 0;
  for (const v of jobs) {
    if (isAllocation(v)) {
      if (v.phase !== "ended") held++;
    } else if (v.phase === "queued") queued++;
    else if (v.phase === "running" || v.phase === "ending") running++;
  }
  const allocations = held ? ` · ${held} allocation${held > 1 ? "s" : ""} held` : "";
  return `${running} running · ${queued} queued${allocations}`;
}

/** Whether a held allocation's time left is a warning now (`slurm.allocation.warn_ahead_seconds`). */
export function endingSoon(v: JobView, now: number): boolean {
  return v.phase !== "ended" && v.warnAt !== undefined && now >= v.warnAt;
}

/** "held 12:03 · 47:57 left", with "— ending soon" once it is a warning. */
function allocationTime(v: JobView, now: number): string {
  const held = `held ${clockText((now - (v.startedAt ?? now)) / 1000)}`;
  if (v.endsAt === undefined) return held;
  const left = `${clockText(Math.max(0, (v.endsAt - now) / 1000))} left`;
  return `${held} · ${left}${endingSoon(v, now) ? " — ending soon: save your work or %slurm extend" : ""}`;
}

/** "waiting 3:12", "running 0:45", "took 1:02" — `now` in the server's clock. */
export function timeText(v: JobView, now: number): string {
  if (v.phase === "queued") return `waiting ${clockText((now - (v.queuedAt ?? v.submittedAt)) / 1000)}`;
  if (isAllocation(v) && v.phase !== "ended") return allocationTime(v, now);
  if (v.phase === "running" || v.phase === "ending")
    return `running ${clockText((now - (v.startedAt ?? now)) / 1000)}`;
  const took = v.end?.seconds;
  return took === undefined ? "ended" : `took ${clockText(took)}`;
}

/** "est. start 14:30" today, "est. start 11-26 09:05" another day. */
export function estimatedStartText(v: JobView, today = new Date()): string | undefined {
  const iso = v.estimatedStart;
  if (v.phase !== "queued" || !iso || !/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso)) return undefined;
  const sameDay = new Date(iso).toDateString() === today.toDateString();
  return `est. start ${sameDay ? iso.slice(11, 16) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`}`;
}

/** Service units: used (ended), so far (running), at most (the time limit), when Slurm said its billing. */
export function serviceUnitsText(v: JobView, now: number): string | undefined {
  const su = (seconds: number) => (((v.billing ?? 0) * seconds) / 3600).toFixed(2);
  if (v.phase === "ended")
    return v.serviceUnits !== undefined ? `${v.serviceUnits.toFixed(2)} SU` : undefined;
  if (v.billing === undefined) return undefined;
  const most = v.timeLimitSeconds !== undefined ? `up to ${su(v.timeLimitSeconds)} SU` : undefined;
  if (v.phase === "queued") return most;
  const sofar = `${su((now - (v.startedAt ?? now)) / 1000)} SU so far`;
  return most ? `${sofar}, ${most}` : sofar;
}

/** "analysis.ipynb · In [3]" with the kernel run when it matters, and "(detached)"; "analysis.ipynb · held allocation". */
export function cellTitle(v: JobView, showRun: boolean): string {
  const name = v.notebookPath ?? v.notebook;
  if (isAllocation(v)) return `${name} · held allocation`;
  return `${name} · [${cellLabel(v, showRun)}]${v.detached ? " (detached)" : ""}`;
}

/** What the state cell of a row says: the pending reason in plain words, or the end in Slurm's and the cell's words. */
export function stateDetail(v: JobView): string {
  if (v.phase === "queued") return v.reasonText ?? "waiting for the scheduler";
  if (v.phase === "ended") {
    const parts = [stateWords(v)];
    if (isAllocation(v) && v.end?.message) parts.push(v.end.message);
    if (v.end?.exitCode) parts.push(`exit ${v.end.exitCode}`);
    if (v.end?.maxRss) parts.push(`MaxRSS ${v.end.maxRss}`);
    return parts.join(" · ");
  }
  return v.node ? `on ${v.node}` : "";
}

/**
 * Which notebook a job is of, for grouping and filters: the frontend's path when it said (two
 * notebooks behind a gateway may share the server's working directory), else the server's key.
 */
export function notebookOf(v: JobView): string {
  return v.notebookPath ?? v.notebookKey;
}

/** Whether more than one start of a notebook's kernel is listed (then cells say their run). */
export function runsToShow(jobs: Iterable<JobView>): Set<string> {
  const runs = new Map<string, Set<number>>();
  for (const v of jobs) {
    if (isAllocation(v)) continue;
    const s = runs.get(notebookOf(v)) ?? new Set<number>();
    s.add(v.run);
    runs.set(notebookOf(v), s);
  }
  return new Set([...runs].filter(([, s]) => s.size > 1).map(([k]) => k));
}

/** Notebooks for the filter: their display names, by key, sorted. */
export function notebooksOf(jobs: Iterable<JobView>): [string, string][] {
  const m = new Map<string, string>();
  for (const v of jobs) m.set(notebookOf(v), v.notebookPath ?? v.notebook);
  return [...m].sort((a, b) => a[1].localeCompare(b[1]));
}

/** Most recent first: in flight before ended, then by submission. */
export function sortJobs(jobs: Iterable<JobView>): JobView[] {
  const rank = (v: JobView) => (v.phase === "ended" ? 1 : 0);
  return [...jobs].sort((a, b) => rank(a) - rank(b) || b.submittedAt - a.submittedAt);
}
