/**
 * How much of a cell's output the notebook is sent. A browser slows to a crawl long before a cell's
 * gigabyte of prints arrives, so past a limit (`server.max_cell_output_mb`) streams and displays
 * are no longer sent — as Jupyter Server's own output rate limit does — and the cell says so, with
 * where its whole output is: nothing is removed from the job's files. Measured on the files
 * themselves (the three offsets), so a server restarted mid-cell keeps the same account.
 */
import type { CellOffsets } from "./backend";
import type { SkippedLine } from "./file-tail";
import type { CellPaths } from "./session-files";

export interface OutputLimit {
  /** Bytes of output (events, stdout and stderr files together) sent to the notebook; 0: no limit. */
  bytes: number;
  /** The command that prints a cell's output as text from its events file, on the cluster. */
  textCommand(eventsPath: string): Promise<string>;
}

const MiB = 1 << 20;
const mib = (n: number) => `${(n / MiB).toFixed(n < 10 * MiB ? 1 : 0)} MiB`;
const total = (o: CellOffsets) => o.events + o.stdout + o.stderr;

/** What a line of the events file is, told from its first bytes without parsing it (the runner writes `{"type":...` first). */
const DROPPABLE = [
  Buffer.from('{"type":"stream","name":"stdout"'),
  Buffer.from('{"type":"display_data"'),
  Buffer.from('{"type":"update_display_data"'),
];

export class OutputBudget {
  constructor(
    private readonly limit: OutputLimit | undefined,
    private readonly paths: CellPaths,
  ) {}

  /** Past the limit (by what the files held at these offsets). */
  over(offsets: CellOffsets): boolean {
    return Boolean(this.limit?.bytes) && total(offsets) >= this.limit!.bytes;
  }

  /** The text of the lines worth parsing: past the limit, stdout streams and displays are passed over unparsed. */
  kept(lines: Buffer, over: boolean): string {
    if (!over) return lines.toString("utf8");
    const parts: Buffer[] = [];
    for (let at = 0; at < lines.length;) {
      let nl = lines.indexOf(0x0a, at);
      if (nl < 0) nl = lines.length - 1;
      const line = lines.subarray(at, nl + 1);
      if (!DROPPABLE.some((p) => line.subarray(0, p.length).equals(p))) parts.push(line);
      at = nl + 1;
    }
    return Buffer.concat(parts).toString("utf8");
  }

  /** What the cell shows once, when its output passes the limit. */
  async notice(): Promise<string> {
    const command = await this.limit!.textCommand(this.paths.events);
    return [
      `alpine-kernel: this cell's output passed ${mib(this.limit!.bytes)} (server.max_cell_output_mb, counted in the job's files), more than a notebook can hold: no more of its prints and displays are shown here.`,
      "The cell goes on running, and none of its output is lost: all of it stays in the job's files on the cluster.",
      `  what the cell printed and displayed, as text:  ${command}`,
      `  what its processes wrote directly:  ${this.paths.stdout}  ${this.paths.stderr}`,
      "",
    ].join("\n");
  }

  /** What the cell shows for one output too large to be read as one piece. */
  tooLong(s: SkippedLine): string {
    return `alpine-kernel: one output of ${mib(s.bytes)} was too large to show in one piece; it is in ${this.paths.events} at byte ${s.at}.\n`;
  }
}
