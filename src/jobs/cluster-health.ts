/**
 * What is wrong with the cluster right now, as one sentence ("scheduler not answering, retrying",
 * "connection to alpine lost, reconnecting"), or nothing: reported by the Slurm watcher and the SSH
 * connection, shown on every status line on screen.
 */
export type HealthListener = (trouble: string | undefined) => void;

export class ClusterHealth {
  private readonly listeners = new Set<HealthListener>();

  /** A new report: the latest one wins, `undefined` clears it. */
  report(trouble: string | undefined): void {
    for (const l of [...this.listeners]) l(trouble);
  }

  onChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
