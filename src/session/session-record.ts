/** What the ledger keeps of a session, to survive a server restart (its cells have records of their own). */
import type { NameKinds } from "../jobs/runner-events";
import type { LedgerEntry } from "../ledger/ledger";
import type { SbatchPair } from "../magics/types";

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
  /** Modules and types of the names (for the introspection helper), when the runner said. */
  kinds?: NameKinds;
  /** What %slurm set in this notebook. */
  slurmDefaults: SbatchPair[];
}
