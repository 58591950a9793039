/** The configuration `alpine-kernel init` writes: what was answered, with comments saying what each line does. Pure. */
import {
  ALPINE_CELL_PARTITION,
  ALPINE_RESOURCE_PROFILES,
  ALPINE_SBATCH_DEFAULTS,
} from "../config/cluster-profiles";

export interface InitAnswers {
  /** alpine: over SSH; local: on Alpine itself. */
  profile: "alpine" | "local";
  host?: string;
  user?: string;
  sshConfig?: string;
  port?: number;
  /** Only while connecting the first time (init's own draft): never written. */
  hostKeyPolicy?: "accept-new";
  account?: string;
  condaEnv: string;
  workDir?: string;
  /** The cluster's default partition, when it lacks the profile's cell partition (not Alpine). */
  defaultPartition?: string;
  /** A build partition, when the cluster lacks the profile's build partition. */
  buildPartition?: string;
  /** Built-in resource profiles whose partition this cluster lacks. */
  missingProfiles?: string[];
}

/** A YAML scalar: plain when safe, else a JSON string (valid YAML). */
function scalar(v: string | number): string {
  return typeof v === "number" || /^[A-Za-z0-9_./@$~-][A-Za-z0-9_./@$~:-]*$/.test(v)
    ? String(v)
    : JSON.stringify(v);
}

export function renderConfig(a: InitAnswers, written = new Date()): string {
  const lines = [
    `# alpine-kernel configuration, written by \`alpine-kernel init\` on ${written.toISOString().slice(0, 10)}.`,
    '# Every key is optional: README.md "Configuration" lists them. `alpine-kernel doctor` checks this file.',
    "",
    a.profile === "alpine"
      ? "# Alpine's defaults, reached over SSH: the work directory on /scratch/alpine/$USER (job output"
      : "# Alpine's defaults, from Alpine itself (Open OnDemand, a login node; no SSH): the work directory on",
    a.profile === "alpine"
      ? `# belongs on scratch: /home has a 2 GB quota), module miniforge, cells on ${ALPINE_CELL_PARTITION} for 1:00:00 unless`
      : `# /scratch/alpine/$USER, module miniforge, cells on ${ALPINE_CELL_PARTITION} for 1:00:00 unless they ask otherwise,`,
    a.profile === "alpine"
      ? "# they ask otherwise, an --account on every job, and the resource profiles below."
      : "# an --account on every job, and the resource profiles below.",
    `cluster_profile: ${a.profile}`,
    "",
  ];
  if (a.profile === "alpine") {
    lines.push("cluster:");
    lines.push(
      `  host: ${scalar(a.host ?? "login.rc.colorado.edu")}   # a Host of your ssh config, or a host name`,
    );
    if (a.user) lines.push(`  user: ${scalar(a.user)}`);
    if (a.port) lines.push(`  port: ${a.port}`);
    if (a.sshConfig) lines.push(`  ssh_config: ${scalar(a.sshConfig)}   # instead of ~/.ssh/config`);
    if (a.hostKeyPolicy) lines.push(`  host_key_policy: ${a.hostKeyPolicy}`);
    lines.push(
      "  # Duo: the first cell (or `alpine-kernel login`) asks once; one connection serves every notebook.",
    );
    lines.push("");
  }
  const defaults = [
    ...(a.defaultPartition ? [`--partition ${a.defaultPartition}`] : []),
    ...(a.account ? [`--account ${a.account}`] : []),
  ].join(" ");
  lines.push(
    "slurm:",
    `  # Options every cell gets, in sbatch's spellings, on top of the profile's "${ALPINE_SBATCH_DEFAULTS}";`,
    "  # `%slurm ...` changes them for a notebook, `%%slurm ...` for one cell.",
    `  defaults: ${JSON.stringify(defaults)}`,
    "  # Resource profiles: `%%slurm --profile gpu`, or a kernel of its own: `alpine-kernel install --profile gpu`.",
    `  # Built in: ${Object.entries(ALPINE_RESOURCE_PROFILES)
      .map(([n, o]) => `${n} (${o})`)
      .join(", ")}.`,
    "  # Add yours, or replace a built-in one by its name:",
    "  # profiles:",
    `  #   bigjob: "--partition ${ALPINE_CELL_PARTITION} --cpus-per-task 16 --mem 64G --time 4:00:00"`,
  );
  if (a.missingProfiles?.length)
    lines.push(
      `  # (this cluster lacks the partitions of: ${a.missingProfiles.join(", ")}; replace them here)`,
    );
  lines.push(
    "",
    "environment:",
    `  conda_env: ${scalar(a.condaEnv)}   # \`alpine-kernel env create|update|list\` (built as a job, never on a login node)`,
  );
  if (a.buildPartition) lines.push(`  build_partition: ${scalar(a.buildPartition)}`);
  lines.push("");
  lines.push(
    a.workDir
      ? `work_dir: ${scalar(a.workDir)}   # the cells' files on the cluster ($USER and ~ are the cluster's)`
      : "# work_dir: /scratch/alpine/$USER/alpine-kernel   # the cells' files on the cluster (the profile's default)",
    "",
  );
  return lines.join("\n");
}
