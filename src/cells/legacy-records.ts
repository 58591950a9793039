/** Ledgers of the layout before cells had one record each, merged into cell records on opening. */
import type { CellOffsets } from "../jobs/backend";
import type { RequestedResources } from "../jobs/diagnose";
import type { JobState } from "../jobs/scheduler";
import type { Ledger, LedgerEntry } from "../ledger/ledger";
import type { CellRecord } from "./cell-book";
import type { CellOrigin } from "./cell-types";

/** The two records ledgers held before cells had one record each (merged on start-up). */
interface LegacyJob extends LedgerEntry {
  sessionId: string;
  notebookKey: string;
  seq: number;
  executionCount: number;
  detached: boolean;
  sessionDir: string;
  submitted: string;
  partition?: string;
  timeLimit?: string;
  state: JobState;
  ended?: string;
  elapsed?: string;
  maxRss?: string;
  node?: string;
  parent?: CellOrigin["parent"];
  displayId?: string;
}
interface LegacyCellInFlight extends LedgerEntry {
  notebookKey?: undefined;
  parent: CellOrigin["parent"];
  clientId: string;
  allowStdin: boolean;
  requested: RequestedResources;
  offsets: CellOffsets;
}

/**
 * Ledgers written before cells had one record each held a "job" record per submitted cell and a
 * "cell" record (offsets, requester) per attached cell in flight: merge them into cell records, so
 * that an upgrade loses no queued cell.
 */
export function migrateLegacy(ledger: Ledger): void {
  const inFlight = new Map(
    ledger
      .list<LegacyCellInFlight>("cell")
      .filter((r) => r.notebookKey === undefined)
      .map((r) => [r.id, r]),
  );
  for (const j of ledger.list<LegacyJob>("job")) {
    const id = `${j.sessionId}/${j.seq}`;
    const c = inFlight.get(id);
    const parent = c?.parent ?? j.parent;
    ledger.remove("job", j.id);
    if (!parent) continue; // nothing to answer: never written by a released version
    const rec: CellRecord = {
      kind: "cell",
      id,
      sessionId: j.sessionId,
      notebookKey: j.notebookKey,
      seq: j.seq,
      executionCount: j.executionCount,
      detached: j.detached,
      jobId: j.id,
      sessionDir: j.sessionDir,
      submitted: j.submitted,
      partition: j.partition,
      requested: c?.requested ?? { time: j.timeLimit, partition: j.partition },
      origin: {
        parent,
        clientId: c?.clientId ?? "",
        allowStdin: c?.allowStdin ?? false,
        displayId: j.displayId,
      },
      offsets: c?.offsets,
      state: j.state,
      ended: j.ended,
      elapsed: j.elapsed,
      maxRss: j.maxRss,
      node: j.node,
    };
    ledger.put(rec);
  }
  for (const id of inFlight.keys())
    if (ledger.get<CellRecord>("cell", id)?.notebookKey === undefined) ledger.remove("cell", id);
}
