/**
 * Built-in cluster profiles: what a site's users would otherwise write by hand. `cluster_profile:
 * alpine` is CU Boulder's Alpine reached over SSH; `cluster_profile: local` is the same cluster
 * seen from Alpine itself (Open OnDemand, a login node: commands run here, no SSH). A profile only
 * supplies defaults: every key of the user's file wins over it, and the resource profiles it
 * brings (`slurm.profiles`) are extended, name by name, by the user's own.
 *
 * Partition names appear here only as defaults; the kernel still checks them against the
 * partitions Slurm reports (Alpine renames partitions) before anything is submitted.
 */

export const CLUSTER_PROFILE_NAMES = ["alpine", "local"] as const;
export type ClusterProfileName = (typeof CLUSTER_PROFILE_NAMES)[number];

/**
 * Resource profiles every Alpine user gets (`%%slurm --profile gpu`), in sbatch's spellings: the
 * partition only (and a short limit for testing), so that a user's `%slurm -c 8 --mem 32G` still
 * applies; a user's own `slurm.profiles.gpu` replaces this one.
 */
/** Alpine's partition for ordinary cells, and the one where software is built (never a login node). */
export const ALPINE_CELL_PARTITION = "acpu";
export const ALPINE_BUILD_PARTITION = "acompile";

export const ALPINE_RESOURCE_PROFILES: Readonly<Record<string, string>> = {
  cpu: `--partition ${ALPINE_CELL_PARTITION}`,
  gpu: "--partition aa100 --gres gpu:1",
  bigmem: "--partition amem",
  testing: "--partition atesting --time 0:30:00",
};

/** Options every cell of the profile gets before the user's own `slurm.defaults`. */
export const ALPINE_SBATCH_DEFAULTS = `--partition ${ALPINE_CELL_PARTITION} --time 1:00:00`;

/** The configuration keys a profile supplies, in the file's own shape (merged under the user's). */
function alpineKeys(transport: "ssh" | "local"): Record<string, unknown> {
  return {
    backend: "slurm",
    // Job output belongs on scratch: /home has a 2 GB quota.
    work_dir: "/scratch/alpine/$USER/alpine-kernel",
    environment: {
      modules: ["miniforge"],
      conda_env: "alpine-kernel",
      python: "python",
      build_partition: ALPINE_BUILD_PARTITION,
    },
    slurm: {
      account_required: true,
      profiles: { ...ALPINE_RESOURCE_PROFILES },
    },
    cluster:
      transport === "ssh" ? { transport: "ssh", host: "login.rc.colorado.edu" } : { transport: "local" },
  };
}

export interface ClusterProfile {
  name: ClusterProfileName;
  /** sbatch options merged under `slurm.defaults`, option by option. */
  sbatchDefaults: string;
  keys: Record<string, unknown>;
}

export function clusterProfile(name: ClusterProfileName): ClusterProfile {
  return {
    name,
    sbatchDefaults: ALPINE_SBATCH_DEFAULTS,
    keys: alpineKeys(name === "alpine" ? "ssh" : "local"),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `over` on top of `under`: objects are merged key by key, anything else (strings, lists) in
 * `over` replaces what `under` had. Neither argument is changed.
 */
export function mergeUnder(
  under: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...under };
  for (const [k, v] of Object.entries(over)) {
    const base = out[k];
    out[k] = isPlainObject(base) && isPlainObject(v) ? mergeUnder(base, v) : v;
  }
  return out;
}
