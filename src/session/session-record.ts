/** What the ledger keeps of a session, to survive a server restart (its cells have records of their own). */
import type { LedgerEntry } from "../ledger/ledger";
import type { SbatchPair } from "../magics/types";

export interface SessionRecord extends LedgerEntry {
  kind: "session";
  name: string;
  dir: string;
  /** The notebook's folder where the frontend runs (the laptop's, over SSH): names the notebook. */
  workDir: string;
  /** Where its cells run on the cluster (unresolved); absent in records of older versions. */
  cellsDir?: string;
  notebook: string;
  created: string;
  executionCount: number;
  cellSeq: number;
  history: [number, string][];
  names: Record<string, string>;
  /** Bytes of the namespace store, as the last cell that saved it said. */
  namespaceBytes?: number;
  /** What %slurm set in this notebook. */
  slurmDefaults: SbatchPair[];
  /** Which start of this notebook's kernel this is: 1, then one more per restart or new kernel. */
  run?: number;
  /** The notebook's path as its frontend knows it (told through the jobs comm). */
  notebookPath?: string;
}

/** The record of a new session: nothing run yet. */
export function newSessionRecord(init: {
  id: string;
  name: string;
  dir: string;
  workDir: string;
  cellsDir: string;
  notebook: string;
  run: number;
}): SessionRecord {
  return {
    kind: "session",
    ...init,
    created: new Date().toISOString(),
    executionCount: 0,
    cellSeq: 0,
    history: [],
    names: {},
    slurmDefaults: [],
  };
}

const HISTORY_LIMIT = 1000;

/** Appends a cell to the history, keeping the last HISTORY_LIMIT. */
export function addHistory(record: SessionRecord, count: number, code: string): void {
  record.history.push([count, code]);
  if (record.history.length > HISTORY_LIMIT) record.history.splice(0, record.history.length - HISTORY_LIMIT);
}
