/** What running a cell needs from its session: one narrow view of it (Session implements it). */
import type { Cell } from "../cells/cell";
import type { NameKinds } from "../jobs/runner-events";
import type { MessageHeader } from "../protocol/messages";
import type { IopubPublisher } from "./cell-output";
import type { CellEnvironment } from "./cell-environment";
import type { CellOptions } from "./cell-options";
import type { SessionEnvironment } from "./environment";
import type { InputRelay } from "./input-relay";
import type { SessionAllocation } from "./session-allocation";

/** Where a session's things are. */
export interface SessionPlace {
  /** The session's own directory on the cluster (as configured): cell files, namespace. */
  dir: string;
  /** Where its cells run on the cluster (unresolved). */
  cellsDir: string;
  /** The notebook's folder where the frontend runs (the laptop's, over SSH). */
  localDir: string;
  notebook: string;
}

/** What cells need from their session. */
export interface CellHost {
  readonly id: string;
  readonly env: SessionEnvironment;
  readonly options: CellOptions;
  /** This notebook across kernel restarts and reopenings: where its cells are filed. */
  readonly notebookKey: string;
  readonly place: SessionPlace;
  /** Which start of this notebook's kernel this is (restarts count): tells cells of each apart. */
  readonly run: number;
  /** The notebook's path as its frontend knows it, once told. */
  readonly notebookPath: string | undefined;
  readonly publish: IopubPublisher;
  /** The notebook's held allocation (slurm backend): where cells that fit run. */
  readonly allocation?: SessionAllocation;
  /** The last execution count given (the cell being run has it). */
  readonly executionCount: number;
  /** A new cell number (persisted). */
  nextSeq(): number;
  /** Persists what `%slurm` set. */
  saveDefaults(): void;
  /** The attached cell in flight (interrupts and input replies go to it), or none. */
  setCurrent(cell: Cell | undefined, inputs?: InputRelay): void;
  /** Sends an input_request to a frontend; returns its msg_id. */
  askInput(clientId: string, prompt: string, password: boolean, parent: MessageHeader): string;
  /** The names a cell left in the namespace (with their type names), the store's size, and what
   *  each name is (modules and types, for completion) when the runner said. */
  setNamespace(names: Record<string, string>, storeBytes?: number, kinds?: NameKinds): void;
  /** The namespace as the last cell left it: names with type names, and the store's size. */
  readonly names: ReadonlyMap<string, string>;
  readonly namespaceBytes: number | undefined;
  /** True the first time `what` is asked in this session (things said once: where cells run, ignored options). */
  once(what: string): boolean;
  /** Runs `fn` once what was sent to the frontends so far has left the server. */
  afterDelivery(fn: () => void): void;
  /** The environment cells run in: this notebook's, or the conda environment `condaEnv` (a cell's --env). */
  environmentFor(condaEnv?: string): CellEnvironment;
}

export interface CellRequest {
  header: MessageHeader;
  code: string;
  silent: boolean;
  storeHistory: boolean;
  allowStdin: boolean;
  clientId: string;
  executionCount: number;
  /** The frontend's id of the cell (JupyterLab sends it in the request's metadata). */
  cellId?: string;
}
