/**
 * The kernel's magics and the sbatch options a cell may set: one table that the parser, completion
 * and help all read.
 */

export interface SbatchOption {
  long: string;
  short?: string;
  /** Takes a value (`--mem 8G`), or is a flag (`--exclusive`). */
  takesValue: boolean;
  help: string;
}

/** sbatch options a cell may set, in sbatch's own spellings. */
export const SBATCH_OPTIONS: readonly SbatchOption[] = [
  { long: "--partition", short: "-p", takesValue: true, help: "partition (queue), e.g. acpu, aa100, amem" },
  { long: "--time", short: "-t", takesValue: true, help: "time limit: MM, HH:MM:SS or D-HH:MM:SS" },
  { long: "--mem", takesValue: true, help: "memory per node, e.g. 8G or 500M" },
  { long: "--mem-per-cpu", takesValue: true, help: "memory per CPU, e.g. 3800M" },
  { long: "--cpus-per-task", short: "-c", takesValue: true, help: "CPUs for the cell's process" },
  { long: "--ntasks", short: "-n", takesValue: true, help: "number of tasks (for %%srun cells)" },
  { long: "--ntasks-per-node", takesValue: true, help: "tasks on each node (for %%srun cells)" },
  { long: "--nodes", short: "-N", takesValue: true, help: "number of nodes" },
  { long: "--gres", takesValue: true, help: "generic resources, e.g. gpu:1 or gpu:a100:1" },
  { long: "--gpus", takesValue: true, help: "GPUs for the job, e.g. 1 or a100:1" },
  { long: "--gpus-per-node", takesValue: true, help: "GPUs per node" },
  { long: "--qos", short: "-q", takesValue: true, help: "quality of service, e.g. normal, long" },
  { long: "--account", short: "-A", takesValue: true, help: "allocation to charge, e.g. ucb-general" },
  { long: "--constraint", short: "-C", takesValue: true, help: "node features required" },
  { long: "--exclusive", takesValue: false, help: "do not share the node" },
  { long: "--mail-type", takesValue: true, help: "when to send mail: BEGIN, END, FAIL, ALL" },
  { long: "--mail-user", takesValue: true, help: "address for --mail-type" },
  { long: "--job-name", short: "-J", takesValue: true, help: "job name shown by squeue" },
  { long: "--begin", takesValue: true, help: "start no earlier than, e.g. now+1hour or 16:00" },
  { long: "--requeue", takesValue: false, help: "let Slurm requeue the job if it is preempted" },
  {
    long: "--no-requeue",
    takesValue: false,
    help: "never rerun the cell: a node failure or preemption ends it",
  },
  {
    long: "--array",
    short: "-a",
    takesValue: true,
    help: "run the cell once per task, e.g. 0-99%10 (task_id in its namespace)",
  },
  {
    long: "--dependency",
    short: "-d",
    takesValue: true,
    help: "start after other jobs, in sbatch's words (afterok:JOBID, afterany:JOBID, singleton)",
  },
];

/** Options of %%slurm that are the kernel's own, not sbatch's. */
export const KERNEL_OPTIONS: readonly SbatchOption[] = [
  {
    long: "--detach",
    takesValue: false,
    help: "submit and return at once; output appears when the job ends",
  },
  { long: "--profile", takesValue: true, help: "named resource profile from your configuration" },
  {
    long: "--env",
    takesValue: true,
    help: "conda environment (name or path) the cell runs in; with %slurm, for the following cells",
  },
  {
    long: "--after",
    takesValue: true,
    help: "start once cell N (its execution count) or job JOBID has completed successfully; several: 12,14",
  },
];

/** An sbatch option the kernel sets itself, and why (said when a cell tries to set it). */
export interface OwnedOption {
  long: string;
  short?: string;
  why: string;
}

/** sbatch options the kernel sets itself: refused with a message naming them and why. */
export const KERNEL_OWNED_SBATCH: readonly OwnedOption[] = [
  { long: "--output", short: "-o", why: "each cell's output streams into the notebook" },
  { long: "--error", short: "-e", why: "each cell's output streams into the notebook" },
  { long: "--input", short: "-i", why: "a cell reads its input from the notebook (input())" },
  { long: "--open-mode", why: "the kernel owns the cell's output files" },
  { long: "--wrap", why: "the cell's code is the job" },
  { long: "--chdir", short: "-D", why: "every cell runs in the notebook's working directory" },
  { long: "--parsable", why: "the kernel submits the job and reads its id itself" },
  {
    long: "--wait",
    short: "-W",
    why: "the kernel follows the job while its output streams in (use --detach to return at once)",
  },
  { long: "--export", why: "the kernel passes the job the environment its cell runner needs" },
  {
    long: "--kill-on-invalid-dep",
    why: "a cell whose dependency failed is ended by the kernel with DependencyNeverSatisfied",
  },
  { long: "--test-only", why: "the kernel checks the options against the cluster before it submits" },
];

export interface MagicDoc {
  name: string;
  kind: "line" | "cell";
  usage: string;
  help: string;
}

export const MAGICS: readonly MagicDoc[] = [
  {
    name: "%%slurm",
    kind: "cell",
    usage: "%%slurm [sbatch options] [--detach] [--profile NAME] [--env NAME] [--after CELL|JOBID]",
    help:
      "Run this cell with these Slurm resources (first line of the cell). Options use sbatch's spellings:\n" +
      SBATCH_OPTIONS.map(
        (o) => `  ${o.short ? `${o.short}, ` : ""}${o.long}${o.takesValue ? " VALUE" : ""}  ${o.help}`,
      ).join("\n") +
      "\n" +
      KERNEL_OPTIONS.map((o) => `  ${o.long}${o.takesValue ? " VALUE" : ""}  ${o.help}`).join("\n") +
      "\nA cell may instead start with #SBATCH lines, as in a batch script. A second line %%srun runs the\n" +
      "cell on every task (rank, size in its namespace); %%bash makes the cell a bash job script.",
  },
  {
    name: "%%bash",
    kind: "cell",
    usage: "%%bash (first line, or after %%slurm), then a job script",
    help:
      "Run the cell as a bash job script, as you would sbatch it: #SBATCH lines at its top, module load,\n" +
      "conda activate, srun, nvidia-smi. Its output streams here; interrupt and end states work as for\n" +
      "Python cells. It runs in the directory the notebook's cells run in; Python variables do not\n" +
      "reach it, and nothing it sets reaches the next cells (use files).",
  },
  {
    name: "%%srun",
    kind: "cell",
    usage: "%%slurm -N NODES --ntasks-per-node N, then %%srun",
    help:
      "Run the cell's Python on every task of the job through srun, with rank and size in its\n" +
      "namespace. Rank 0's output streams here (%slurm output JOBID --rank N shows another's);\n" +
      "the namespace carried to the next cell is rank 0's.",
  },
  {
    name: "%slurm",
    kind: "line",
    usage:
      "%slurm [sbatch options] | %slurm | %slurm reset | %slurm output JOBID | %slurm allocate [sbatch options] [--no-wait] | %slurm release [--no-save] | %slurm extend DURATION | %slurm gather ARRAY NAME | %slurm rerun ARRAY --failed",
    help:
      "Set the default Slurm options for the following cells (same options as %%slurm).\n" +
      "  %slurm           show the effective settings\n  %slurm reset     forget the defaults set in this notebook\n" +
      "  %slurm output JOBID   show the output of a detached cell; ARRAY_TASK (4521_17) an array task's,\n" +
      "                        ARRAY the array's tasks; JOBID --rank N an srun task's\n" +
      "  %slurm allocate [options]   hold an allocation (one job); the next cells that fit run in it at once,\n" +
      "                   in one Python that keeps its variables in memory. Waits until it is ready\n" +
      "                   (--no-wait: returns at once, cells wait). Again: replaces it.\n" +
      "  %slurm release [--no-save]   end the allocation (its namespace is saved for the next cells)\n" +
      "  %slurm extend DURATION   ask Slurm for more time (only Slurm administrators may, on Alpine too)\n" +
      "  %slurm gather ARRAY NAME [--into VAR]   NAME from each task's namespace, as a list in task order\n" +
      "                        (a DataFrame when the values are dicts), into this cell's namespace\n" +
      "  %slurm rerun ARRAY --failed | --tasks LIST   run those tasks of an array cell again (a %%slurm\n" +
      "                        line in the same cell changes their options, e.g. --time)",
  },
  {
    name: "%squeue",
    kind: "line",
    usage: "%squeue",
    help: "This kernel's cell jobs: state, reason, partition, elapsed/limit, node, estimated start.",
  },
  {
    name: "%scancel",
    kind: "line",
    usage: "%scancel JOBID... | %scancel --all",
    help: "Cancel cell jobs of this kernel.",
  },
  {
    name: "%sacct",
    kind: "line",
    usage: "%sacct [JOBID]",
    help: "Accounting of finished cell jobs: state, exit code, elapsed, MaxRSS.",
  },
  {
    name: "%upload",
    kind: "line",
    usage: "%upload [--force] PATH [DEST]",
    help:
      "Copy a file from the notebook's folder on this machine to the cluster, into the folder the\n" +
      "cells run in (or DEST: a file name, or a folder ending in /). Shows progress, the size and the\n" +
      "SHA-256 checked on both sides; an existing file is replaced only with --force.",
  },
  {
    name: "%download",
    kind: "line",
    usage: "%download [--force] PATH [DEST]",
    help:
      "Copy a file from the folder the cells run in on the cluster (or any cluster PATH) to the\n" +
      "notebook's folder on this machine (or DEST). Same checks as %upload.",
  },
  {
    name: "%who",
    kind: "line",
    usage: "%who [TYPE...]",
    help: "The names in this notebook's namespace (only those of these types, e.g. %who DataFrame), without running a job.",
  },
  {
    name: "%whos",
    kind: "line",
    usage: "%whos [TYPE...]",
    help:
      "The namespace as a table: each name's type, size, data and where it is stored, read from the\n" +
      "namespace store's index: nothing is loaded and no job runs. At the top of a cell only; below\n" +
      "Python code, %who and %whos are IPython's, run in the cell's job.",
  },
];

export function findMagic(name: string): MagicDoc | undefined {
  return (
    MAGICS.find((m) => m.name === name) ?? MAGICS.find((m) => m.name === `%${name}` || m.name === `%%${name}`)
  );
}
