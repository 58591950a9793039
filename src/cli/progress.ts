/**
 * Progress of a long job on a terminal: its output scrolls, and one line at the bottom says where
 * it stands and what it does now, with a spinner and a clock ("⠼ job 8812034 on acompile: running
 * on c3cpu-a2 · Solving environment (1:42)"). Without a terminal (a log, CI) the output is plain
 * lines, and where the job stands is a line each time it changes.
 */
import { shortDuration } from "../session/status-display";

const FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";

export class ProgressLine {
  private status = "";
  private detail = "";
  private frame = 0;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private partial = "";

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = out.isTTY === true,
    /** Lines of the job's output that are for the program, not for people. */
    private readonly hidden = /^ALPINE_KERNEL_/,
  ) {
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  /** Where the job stands, and what it does now (its last line of output). */
  set(status: string, detail = ""): void {
    const changed = status !== this.status;
    this.status = status;
    this.detail = detail;
    if (this.tty) this.draw();
    else if (changed) this.out.write(`${status}\n`);
  }

  /** Output of the job, shown above the progress line as whole lines. */
  print(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    const shown = lines.filter((l) => !this.hidden.test(l));
    if (!shown.length) return;
    if (this.tty) this.out.write("\r\x1b[2K");
    this.out.write(shown.map((l) => `  ${l}`).join("\n") + "\n");
    if (this.tty) this.draw();
  }

  /** The last line of `text` worth showing ("Solving environment: ...working..."). */
  lastLine(text: string): string | undefined {
    return text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !this.hidden.test(l))
      .pop();
  }

  private draw(): void {
    if (!this.status) return;
    const clock = shortDuration((Date.now() - this.started) / 1000);
    const frame = FRAMES[this.frame++ % FRAMES.length];
    const width = (this.out.columns || 100) - 1;
    const line = `${frame} ${this.status}${this.detail ? ` · ${this.detail}` : ""} (${clock})`;
    this.out.write(`\r\x1b[2K${line.slice(0, width)}`);
  }

  /** Ends the spinner before the final message. */
  done(): void {
    clearInterval(this.timer);
    if (this.partial) this.print("\n");
    if (this.tty && this.status) this.out.write("\r\x1b[2K");
    this.status = "";
  }
}
