/** What the ledger keeps of a session and of its cell in flight, to survive a server restart. */
import type { LedgerEntry } from "../ledger/ledger";
import type { SbatchPair } from "../magics/types";
import type { CellRecordFields } from "./cell-execution";

export interface SessionRecord extends LedgerEntry {
  kind: "session";
  name: string;
  dir: string;
  workDir: string;
  notebook: string;
  created: string;
  executionCount: number;
  cellSeq: number;
  history: [number, string][];
  names: Record<string, string>;
  /** What %slurm set in this notebook. */
  slurmDefaults: SbatchPair[];
}

export interface CellRecord extends LedgerEntry, CellRecordFields {
  kind: "cell";
  sessionId: string;
}
