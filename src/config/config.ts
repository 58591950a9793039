/**
 * The user's configuration: one YAML file, validated with zod. With no file at all, the backend is
 * `local` (cells run by bash on this machine), so a newcomer can try the kernel with no cluster.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { InputError } from "../errors";
import { DEFAULT_MAX_CELL_CODE_MIB } from "./limits";
import {
  ALPINE_BUILD_PARTITION,
  CLUSTER_PROFILE_NAMES,
  clusterProfile,
  mergeUnder,
  type ClusterProfile,
} from "./cluster-profiles";
import { configPath, dataDir } from "./paths";

const shellWord = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_.+\-/@:=]+$/, "may contain only letters, digits and _ . + - / @ : =");

const environmentSchema = z
  .object({
    /** `module load` these, in order (Alpine: miniforge or anaconda). */
    modules: z.array(shellWord).default([]),
    /** `conda activate` this environment (name or path) after loading the modules. */
    conda_env: shellWord.optional(),
    /** Extra shell lines run before the cell runner (your own config: trusted, not quoted). */
    setup: z.array(z.string()).default([]),
    /**
     * The Python that runs cells, after activation. Unset: `python3` on the slurm backend; on the
     * local backend, the Python Jupyter itself runs in (else `python3`).
     */
    python: z.string().min(1).optional(),
    /** The umask cells run with: 077 keeps what they write private; 007 shares it with your group. */
    umask: z.preprocess(
      // YAML reads an unquoted 077 as the number 77: its digits are what the user wrote.
      (v) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? String(v).padStart(3, "0") : v),
      z
        .string()
        .regex(/^0?[0-7]{3}$/, 'is three octal digits, e.g. "077"')
        .default("077"),
    ),
    /** `alpine-kernel env create` builds environments as a job here (never on the login node). */
    build_partition: shellWord.default(ALPINE_BUILD_PARTITION),
    /** The build job's time limit (sbatch --time spelling). */
    build_time: shellWord.default("2:00:00"),
  })
  .strict();

const serverSchema = z
  .object({
    /** A server started by the kernel bridge exits after this long with no clients and no cells in flight. */
    idle_timeout_seconds: z.number().int().positive().default(1800),
    log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
    /** Web pages of these origins may use the server from a browser ("*": any); its own origin always may. */
    allow_origins: z
      .array(
        z
          .string()
          .regex(/^(\*|https?:\/\/[^/\s]+)$/, 'is an origin like "http://localhost:8888" (no path), or "*"'),
      )
      .default([]),
    /** The largest cell (its code, in MiB); frontends' message size limits follow from it. */
    max_cell_code_mib: z.number().positive().max(256).default(DEFAULT_MAX_CELL_CODE_MIB),
    /** Host names the server answers to besides loopback addresses and localhost (DNS rebinding guard). */
    allow_hosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, "is a host name")).default([]),
    /** A cell's output sent to the notebook, in MiB (0: no limit); the rest stays in the job's files. */
    max_cell_output_mb: z.number().min(0).default(100),
  })
  .strict();

/** sbatch options written as on the command line, e.g. "--account ucb-general --time 1:00:00". */
const sbatchOptions = z.string().max(2000);

/**
 * A resource profile: its sbatch options, or an object that also says whether its cells run in a
 * held allocation (`allocate: true`: the first such cell allocates, the next ones run in it).
 */
const profileSchema = z.union([
  sbatchOptions,
  z.object({ options: sbatchOptions.default(""), allocate: z.boolean().default(false) }).strict(),
]);
export type ProfileValue = z.infer<typeof profileSchema>;

/** A profile's sbatch options, whichever way it is written. */
export function profileOptions(p: ProfileValue): string {
  return typeof p === "string" ? p : p.options;
}

/** Whether a profile's cells run in a held allocation (`profiles.NAME.allocate: true`). */
export function profileAllocates(p: ProfileValue | undefined): boolean {
  return typeof p === "object" && p.allocate;
}

/** `%slurm allocate`: the end of an allocation, and what comes after it. */
const allocationSchema = z
  .object({
    /** After an allocation ends by itself (time limit, node failure, preemption): per-cell jobs, or a new allocation with the same options. */
    after_end: z.enum(["per-cell", "reallocate"]).default("per-cell"),
    /** The namespace is saved this long before the time limit (Slurm signals the daemon too). */
    save_ahead_seconds: z.number().int().min(60).max(3600).default(120),
    /** The notebook is warned this long before the time limit. */
    warn_ahead_seconds: z.number().int().min(0).max(86400).default(600),
  })
  .strict();

const slurmSchema = z
  .object({
    /** Options every cell gets unless it says otherwise (Alpine requires --account). */
    defaults: sbatchOptions.default(""),
    /** Every cell names an --account: when none is set, the user's default account (or only one) is used. */
    account_required: z.boolean().default(false),
    /** Named option sets: `%%slurm --profile gpu`. */
    profiles: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]+$/, "profile names use letters, digits, _ and -"),
        profileSchema,
      )
      .default({}),
    allocation: allocationSchema.default(allocationSchema.parse({})),
    /** Partitions the site renamed: a cell asking for the old name is told the new one. */
    renamed_partitions: z.record(z.string(), z.string()).default({ amilan: "acpu" }),
    /** The watcher's squeue interval backs off from min to max while nothing changes. */
    poll_min_seconds: z.number().positive().default(1),
    poll_max_seconds: z.number().positive().default(30),
    /** How long discovered partitions/accounts are trusted before asking Slurm again. */
    discovery_ttl_seconds: z.number().int().positive().default(600),
    /**
     * Each cell shows a status line (queued → running → completed) as a display output. Off, a cell
     * sends exactly the outputs ipykernel would (what strict protocol tests such as
     * jupyter_kernel_test count); detached cells keep theirs, it is where their output appears.
     */
    status_line: z.boolean().default(true),
    /** Start-time hints: ask `sbatch --test-only` whether another request would start a waiting cell sooner. */
    start_hints: z.boolean().default(true),
    /** Extra Slurm calls the hints may make per minute, for all cells together. */
    hint_calls_per_minute: z.number().int().min(1).max(30).default(4),
    /** How long a cell waits on Priority/Resources before hints are asked for. */
    hint_after_seconds: z.number().min(0).default(30),
  })
  .strict();

const completionSchema = z
  .object({
    /** Completion and Shift-Tab from jedi in the cells' environment (one helper process per notebook). */
    helper: z.boolean().default(true),
    /** How long a completion waits for the helper before the kernel answers without it. */
    timeout_ms: z.number().int().min(50).max(10_000).default(1000),
    /** The helper's CPU priority (nice): 19, the lowest, leaves the login node to everyone else. */
    nice: z.number().int().min(0).max(19).default(19),
  })
  .strict();

const clusterSchema = z
  .object({
    /** local: commands run on this machine (on Alpine itself, e.g. OnDemand); ssh: through one SSH connection. */
    transport: z.enum(["local", "ssh"]).default("local"),
    /** Host alias from ~/.ssh/config, or a host name (login.rc.colorado.edu). */
    host: z.string().min(1).optional(),
    user: z
      .string()
      .regex(/^[A-Za-z0-9._][A-Za-z0-9._@-]*$/, "is not a user name")
      .optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** An extra private key, tried after those in ~/.ssh/config. */
    identity_file: z.string().optional(),
    ssh_config: z.string().optional(),
    /** strict: unknown hosts are refused (the default); accept-new: recorded on first use. Changed keys are always refused. */
    host_key_policy: z.enum(["strict", "accept-new"]).optional(),
    /** How long a login prompt (password, Duo) waits for an answer. */
    prompt_timeout_seconds: z.number().int().positive().default(300),
    /** Exec channels at once over the one connection (OpenSSH allows 10 sessions). */
    max_channels: z.number().int().min(1).max(64).default(8),
    /**
     * Where a notebook's cells run on the cluster when it is reached over SSH (the laptop's folders
     * do not exist there): {work_dir} and {notebook} (the notebook's name without .ipynb) are
     * filled in; ~, $HOME and $USER are the cluster's. Over the local transport cells run in the
     * notebook's own folder.
     */
    notebook_dir: z
      .string()
      .min(1)
      .refine(
        (v) => [...v.matchAll(/\{([^}]*)\}/g)].every((m) => m[1] === "work_dir" || m[1] === "notebook"),
        {
          message: "may use only the placeholders {work_dir} and {notebook}",
        },
      )
      .default("{work_dir}/notebooks/{notebook}"),
  })
  .strict()
  .refine((c) => c.transport !== "ssh" || c.host, {
    message: "cluster.host is required when cluster.transport is ssh",
    path: ["host"],
  });

export const configSchema = z
  .object({
    /** Built-in defaults for a site (cluster-profiles.ts); the rest of the file overrides them. */
    cluster_profile: z.enum(CLUSTER_PROFILE_NAMES).optional(),
    backend: z.enum(["local", "slurm"]).default("local"),
    /**
     * Where session directories (cells, outputs, namespaces) live, on the file system the cells run
     * on. ~, $HOME and $USER are the cluster's. Default: the data directory (local backend),
     * ~/alpine-kernel (slurm; on Alpine use /scratch/alpine/$USER/alpine-kernel).
     */
    work_dir: z.string().min(1).optional(),
    environment: environmentSchema.default(environmentSchema.parse({})),
    slurm: slurmSchema.default(slurmSchema.parse({})),
    cluster: clusterSchema.default(clusterSchema.parse({})),
    server: serverSchema.default(serverSchema.parse({})),
    completion: completionSchema.default(completionSchema.parse({})),
  })
  .strict();

export type Config = z.infer<typeof configSchema> & {
  work_dir: string;
  source: string;
  /** The cluster profile the file names, if any: its sbatch defaults go under slurm.defaults. */
  profile?: ClusterProfile;
};

export class ConfigError extends InputError {
  constructor(message: string) {
    super("CONFIG", message);
  }
}

function formatIssues(err: z.ZodError, source: string): string {
  const lines = err.issues.map((i) => {
    const where = i.path.length ? i.path.join(".") : "(top level)";
    return `  - ${where}: ${i.message}`;
  });
  return `invalid configuration in ${source}:\n${lines.join("\n")}\nFix the file (see README "Configuration"), or remove it to use the local backend.`;
}

/** The cluster profile a file names (an unknown name is left to the schema's message). */
function profileOf(raw: unknown): ClusterProfile | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const name = (raw as Record<string, unknown>).cluster_profile;
  const known = CLUSTER_PROFILE_NAMES.find((n) => n === name);
  return known ? clusterProfile(known) : undefined;
}

/** Parses configuration text; `source` names it in messages. */
export function parseConfig(text: string, source: string): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : "";
    throw new ConfigError(`${source} is not valid YAML${where}: ${(err as Error).message.split("\n")[0]}`);
  }
  const profile = profileOf(raw);
  const result = configSchema.safeParse(
    profile ? mergeUnder(profile.keys, raw as Record<string, unknown>) : raw,
  );
  if (!result.success) throw new ConfigError(formatIssues(result.error, source));
  const cfg = result.data;
  const workDir = cfg.work_dir ?? (cfg.backend === "local" ? join(dataDir(), "sessions") : "~/alpine-kernel");
  return { ...cfg, work_dir: workDir, source, ...(profile ? { profile } : {}) };
}

/** Loads the configuration file; a missing file means all defaults (local backend). */
export function loadConfig(path = configPath()): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return parseConfig("", "(defaults: no configuration file)");
    throw new ConfigError(`cannot read configuration ${path}: ${(err as Error).message}`);
  }
  return parseConfig(text, path);
}
