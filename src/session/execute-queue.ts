/**
 * Cells run one after another (each sees the namespace the previous one left). Requests that wait
 * behind a cell that failed with stop_on_error are aborted, as in ipykernel.
 */
import type { Message } from "../protocol/messages";

export interface QueuedExecute {
  request: Message<"execute_request">;
  clientId: string;
}

export class ExecuteQueue {
  private readonly waiting: QueuedExecute[] = [];
  private running = false;

  constructor(
    private readonly run: (item: QueuedExecute) => Promise<{ failed: boolean }>,
    private readonly abort: (item: QueuedExecute) => void,
  ) {}

  get length(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  get busy(): boolean {
    return this.running;
  }

  push(item: QueuedExecute): void {
    this.waiting.push(item);
    if (!this.running) void this.drain();
  }

  /** Replies `aborted` to every request still waiting. */
  abortWaiting(): void {
    for (const item of this.waiting.splice(0)) this.abort(item);
  }

  /** Runs something (a resumed cell) before anything waiting. */
  runFirst(task: () => Promise<void>): void {
    this.running = true;
    void task().finally(() => {
      this.running = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.waiting.shift(); item; item = this.waiting.shift()) {
        const { failed } = await this.run(item);
        if (failed && item.request.content.stop_on_error) this.abortWaiting();
      }
    } finally {
      this.running = false;
    }
  }
}
