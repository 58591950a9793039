/** What running a cell needs from its session: one narrow view of it (Session implements it). */
import type { Cell } from "../cells/cell";
import type { MessageHeader } from "../protocol/messages";
import type { IopubPublisher } from "./cell-output";
import type { CellEnvironment } from "./cell-environment";
import type { CellOptions } from "./cell-options";
import type { SessionEnvironment } from "./environment";
import type { InputRelay } from "./input-relay";

/** What cells need from their session. */
export interface CellHost {
  readonly id: string;
  readonly env: SessionEnvironment;
  readonly options: CellOptions;
  /** This notebook across kernel restarts and reopenings: where its cells are filed. */
  readonly notebookKey: string;
  /** The session's directory (as configured), where its cells run, and the notebook's name. */
  readonly place: { dir: string; workDir: string; notebook: string };
  readonly publish: IopubPublisher;
  /** A new cell number (persisted). */
  nextSeq(): number;
  /** Persists what `%slurm` set. */
  saveDefaults(): void;
  /** The attached cell in flight (interrupts and input replies go to it), or none. */
  setCurrent(cell: Cell | undefined, inputs?: InputRelay): void;
  /** Sends an input_request to a frontend; returns its msg_id. */
  askInput(clientId: string, prompt: string, password: boolean, parent: MessageHeader): string;
  /** The names a cell left in the namespace. */
  setNames(names: Record<string, string>): void;
  /** The environment cells run in: this notebook's, or the conda environment `condaEnv` (a cell's --env). */
  environmentFor(condaEnv?: string): CellEnvironment;
  /** True the first time this session meets `key` (it names an environment's Python once). */
  firstUse(key: string): boolean;
}

export interface CellRequest {
  header: MessageHeader;
  code: string;
  silent: boolean;
  storeHistory: boolean;
  allowStdin: boolean;
  clientId: string;
  executionCount: number;
}
