/**
 * What an allocation's daemon has said so far (its events.jsonl, in order): where it runs, its
 * Python's generation, the state of every cell sent to it, how its Python died, its last save.
 * Pure: `apply` takes one event and says what changed.
 */
import type { AllocationEvent } from "./allocation-protocol";
import type { CellState, DiedEvent, SavedEvent, WorkerEvent } from "./allocation-types";

/** What one event changed, for the allocation to act on. */
export type DaemonChange =
  | { kind: "host" }
  | { kind: "worker"; event: WorkerEvent; restarted: boolean }
  | { kind: "cell"; seq: number }
  | { kind: "died"; event: DiedEvent }
  | { kind: "saved"; event: SavedEvent }
  | { kind: "exit"; released: boolean }
  | { kind: "none" };

export class DaemonState {
  host: string | undefined;
  generation = 0;
  worker: WorkerEvent | undefined;
  lastSave: SavedEvent | undefined;
  /** The daemon said it ends because the allocation was released. */
  released = false;
  readonly cells = new Map<number, CellState>();
  readonly deaths = new Map<number, DiedEvent>();

  apply(ev: AllocationEvent): DaemonChange {
    switch (ev.type) {
      case "supervisor":
        this.host = ev.host;
        return { kind: "host" };
      case "worker": {
        const restarted = this.generation > 0;
        this.generation = ev.generation;
        this.worker = ev;
        return { kind: "worker", event: ev, restarted };
      }
      case "cell":
        this.cells.set(ev.seq, "running");
        return { kind: "cell", seq: ev.seq };
      case "done":
        this.cells.set(ev.seq, "done");
        return { kind: "cell", seq: ev.seq };
      case "withdrawn":
        this.cells.set(ev.seq, "withdrawn");
        return { kind: "cell", seq: ev.seq };
      case "died":
        if (ev.seq !== null) {
          this.deaths.set(ev.seq, ev);
          this.cells.set(ev.seq, "died");
        }
        return { kind: "died", event: ev };
      case "saved":
        if (ev.saved !== undefined) this.lastSave = ev;
        return { kind: "saved", event: ev };
      case "ending":
        this.released ||= ev.reason === "released";
        return { kind: "none" };
      case "exit":
        return { kind: "exit", released: this.released };
      case "reset":
      case "interrupted":
        return { kind: "none" };
    }
  }
}
