/**
 * When a running allocation ends, from squeue's elapsed time and limit: the daemon is told (it
 * saves the namespace ahead of it), and the notebook is warned `warnAheadSeconds` before. A new
 * limit (an administrator's `scontrol update`) moves both.
 */
import type { JobStatus } from "../scheduler";
import { parseSlurmDuration } from "../slurm/slurm-time";

export interface EndClockHooks {
  warnAheadSeconds: number;
  /** The end moved (or is known for the first time): epoch ms. */
  onEnd(endsAt: number): void;
  /** `warnAheadSeconds` before the end. */
  onWarn(endsAt: number): void;
}

/** Squeue's clocks move by the second, and its answers arrive late: smaller shifts are no news. */
const SHIFT_MS = 5000;

export class EndClock {
  private endsAtMs: number | undefined;
  private warned = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly hooks: EndClockHooks) {}

  get endsAt(): number | undefined {
    return this.endsAtMs;
  }

  note(s: JobStatus, now = Date.now()): void {
    const elapsed = s.elapsed ? parseSlurmDuration(s.elapsed) : null;
    const limit = s.timeLimit ? parseSlurmDuration(s.timeLimit) : null;
    if (elapsed === null || limit === null) return;
    const endsAt = now + (limit - elapsed) * 1000;
    if (this.endsAtMs !== undefined && Math.abs(endsAt - this.endsAtMs) < SHIFT_MS) return;
    const first = this.endsAtMs === undefined;
    this.endsAtMs = endsAt;
    this.hooks.onEnd(endsAt);
    clearTimeout(this.timer);
    const warnAt = endsAt - this.hooks.warnAheadSeconds * 1000;
    // An allocation shorter than the warning's lead is not warned about as it starts.
    if (this.warned || (first && warnAt <= now)) return;
    this.timer = setTimeout(
      () => {
        this.warned = true;
        this.hooks.onWarn(endsAt);
      },
      Math.max(0, warnAt - now),
    );
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
