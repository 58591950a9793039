/** What the magics parser produces. Parsing and validation are pure; the session executes the result. */
import { InputError } from "../errors";

import type { SbatchPair } from "../jobs/job-script";

export type { SbatchPair };

export interface ParsedOptions {
  sbatch: SbatchPair[];
  /** %%slurm --detach: submit and return at once. */
  detach: boolean;
  /** %%slurm --profile NAME: options from the configuration's profiles. */
  profile?: string;
  /** --env NAME: the conda environment (name or path) instead of environment.conda_env. */
  env?: string;
  /** %%slurm --after 12,4519: cells (execution counts) or job ids whose success it waits for. */
  after?: string[];
  /** A %%bash cell's #SBATCH options the kernel leaves out (--output, --error: its output streams here). */
  ignored?: string[];
}

/** The kernel's line magics (the cells' own IPython magics run in the job). */
export const LINE_MAGIC_NAMES = [
  "slurm",
  "squeue",
  "scancel",
  "sacct",
  "upload",
  "download",
  "who",
  "whos",
] as const;
export type LineMagicName = (typeof LINE_MAGIC_NAMES)[number];

export interface LineMagic {
  name: LineMagicName;
  /** Arguments after the magic name, split like a shell would (quotes honoured). */
  args: string[];
  /** 1-based line in the cell. */
  line: number;
}

export interface CellPlan {
  /** `%%bash` (the cell is a job script) or `%%srun` (its Python on every task); absent: Python once. */
  mode?: "bash" | "srun";
  /** Kernel line magics at the top of the cell, run by the kernel in order before the body. */
  lineMagics: LineMagic[];
  /** This cell's own options, from a first-line %%slurm and/or leading #SBATCH lines. */
  cellOptions?: ParsedOptions;
  /**
   * Python code for the job: the cell with kernel magic lines blanked out (so line numbers in
   * tracebacks are the cell's own). Empty or blank: no job runs.
   */
  body: string;
}

/** A magic line the kernel refuses: the message names what was wrong and what to write instead. */
export class MagicError extends InputError {
  constructor(message: string) {
    super("BAD_MAGIC", message);
  }
}
