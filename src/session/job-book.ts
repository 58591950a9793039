/**
 * Every cell job the server submitted, per notebook, in the ledger: what %squeue, %scancel, %sacct
 * and `%slurm output` work from — also in a notebook reopened the next day.
 */
import type { Ledger, LedgerEntry } from "../ledger/ledger";
import type { MessageHeader } from "../protocol/messages";
import type { JobState } from "../jobs/scheduler";

export interface JobRecord extends LedgerEntry {
  kind: "job";
  /** The Slurm job id (or local-PID). */
  id: string;
  notebookKey: string;
  sessionId: string;
  seq: number;
  executionCount: number;
  detached: boolean;
  /** Session directory holding the cell's files. */
  sessionDir: string;
  submitted: string;
  partition?: string;
  timeLimit?: string;
  state: JobState;
  ended?: string;
  exitCode?: number;
  elapsed?: string;
  maxRss?: string;
  node?: string;
  /** Detached cells: where their output goes when they end. */
  parent?: MessageHeader;
  displayId?: string;
}

export type NewJob = Pick<
  JobRecord,
  "id" | "notebookKey" | "sessionId" | "seq" | "executionCount" | "detached" | "sessionDir"
> &
  Partial<Pick<JobRecord, "partition" | "timeLimit" | "parent" | "displayId" | "state">>;

const KEEP_ENDED_MS = 7 * 24 * 3600 * 1000;

export class JobBook {
  constructor(private readonly ledger: Ledger) {
    const cutoff = Date.now() - KEEP_ENDED_MS;
    for (const j of this.all()) if (j.ended && Date.parse(j.ended) < cutoff) ledger.remove("job", j.id);
  }

  all(): JobRecord[] {
    return this.ledger.list<JobRecord>("job").sort((a, b) => a.submitted.localeCompare(b.submitted));
  }

  forNotebook(notebookKey: string): JobRecord[] {
    return this.all().filter((j) => j.notebookKey === notebookKey);
  }

  get(jobId: string): JobRecord | undefined {
    return this.ledger.get<JobRecord>("job", jobId);
  }

  add(rec: NewJob): JobRecord {
    const full: JobRecord = { kind: "job", submitted: new Date().toISOString(), state: "PENDING", ...rec };
    this.ledger.put(full);
    return full;
  }

  update(jobId: string, fields: Partial<JobRecord>): void {
    const rec = this.get(jobId);
    if (rec) this.ledger.put({ ...rec, ...fields, kind: "job", id: jobId });
  }

  /** Detached jobs still in flight (to follow again after a server restart). */
  detachedInFlight(): JobRecord[] {
    return this.all().filter((j) => j.detached && !j.ended);
  }
}
