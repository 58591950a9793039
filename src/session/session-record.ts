/** What the ledger keeps of a session, to survive a server restart (its cells have records of their own). */
import type { NameKinds } from "../jobs/runner-events";
import { pushBounded, type LedgerEntry } from "../ledger/ledger";
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
  /** Modules and types of the names (for the introspection helper), when the runner said. */
  kinds?: NameKinds;
  /** What %slurm set in this notebook. */
  slurmDefaults: SbatchPair[];
  /** Which start of this notebook's kernel this is: 1, then one more per restart or new kernel. */
  run?: number;
  /** The notebook's path as its frontend knows it (told through the jobs comm). */
  notebookPath?: string;
  /** `%slurm --env NAME`: this notebook's conda environment. */
  condaEnv?: string;
  /** The Python the notebook's Jupyter runs in (from the kernel bridge): the local backend's default. */
  jupyterPython?: string;
  /** The resource profile of the kernelspec that opened it ("Python (Alpine · GPU)": gpu). */
  kernelProfile?: string;
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
  jupyterPython?: string;
  kernelProfile?: string;
}): SessionRecord {
  const { jupyterPython, kernelProfile, ...rest } = init;
  return {
    kind: "session",
    ...rest,
    ...(jupyterPython ? { jupyterPython } : {}),
    ...(kernelProfile ? { kernelProfile } : {}),
    created: new Date().toISOString(),
    executionCount: 0,
    cellSeq: 0,
    history: [],
    names: {},
    slurmDefaults: [],
  };
}

/** The history a session keeps (and the ledger holds): the newest entries within both bounds. */
export const HISTORY_BOUND = { items: 1000, chars: 4 << 20 };
/** A longer cell is kept in the history cut to this, with a note: one 50 MB cell must not weigh on every restart. */
const HISTORY_ENTRY_CHARS = 64 << 10;
/** Names the namespace summary keeps (a namespace of a million names is shown in part). */
const NAMES_LIMIT = 5000;

/** A history entry within HISTORY_ENTRY_CHARS. */
export function historyEntry(count: number, code: string): [number, string] {
  if (code.length <= HISTORY_ENTRY_CHARS) return [count, code];
  return [
    count,
    `${code.slice(0, HISTORY_ENTRY_CHARS)}\n# alpine-kernel: the rest of this cell (${code.length} characters in all) is not kept in the history`,
  ];
}

/** Appends a cell to the history (within HISTORY_BOUND); returns the entry as kept, for the ledger. */
export function addHistory(record: SessionRecord, count: number, code: string): [number, string] {
  const entry = historyEntry(count, code);
  record.history = pushBounded(record.history, entry, HISTORY_BOUND);
  return entry;
}

/** The namespace's names within NAMES_LIMIT. */
export function boundedNames(names: Record<string, string>): Record<string, string> {
  const entries = Object.entries(names);
  return entries.length > NAMES_LIMIT ? Object.fromEntries(entries.slice(0, NAMES_LIMIT)) : names;
}
