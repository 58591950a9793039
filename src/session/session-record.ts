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
}
