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

/** The namespace's names within NAMES_LIMIT. */
export function boundedNames(names: Record<string, string>): Record<string, string> {
  const entries = Object.entries(names);
  return entries.length > NAMES_LIMIT ? Object.fromEntries(entries.slice(0, NAMES_LIMIT)) : names;
}
