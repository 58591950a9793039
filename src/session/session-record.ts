/** What the ledger keeps of a session, to survive a server restart (its cells have records of their own). */
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
  /** What %slurm set in this notebook. */
  slurmDefaults: SbatchPair[];
  /** `%slurm --env NAME`: this notebook's conda environment. */
  condaEnv?: string;
  /** The Python the notebook's Jupyter runs in (from the kernel bridge): the local backend's default. */
  jupyterPython?: string;
  /** The resource profile of the kernelspec that opened it ("Python (Alpine · GPU)": gpu). */
  kernelProfile?: string;
}
