/**
 * A cell's effective Slurm options: the cluster profile's defaults, the configuration's defaults,
 * the kernelspec's resource profile, what %slurm set in this notebook, then a profile, then the
 * cell's own %%slurm / #SBATCH options — later ones win. On the slurm backend the result is
 * checked against the cluster's own limits before anything is submitted, an --account is added
 * where the site requires one, and its service units are estimated from the partition's weights.
 */
import type { Config } from "../config/config";
import { ConfigError, profileAllocates, profileOptions } from "../config/config";
import { mergeSbatch, parseSlurmOptions } from "../magics/sbatch-args";
import { tokenize } from "../magics/tokenize";
import { MagicError, type ParsedOptions, type SbatchPair } from "../magics/types";
import { validateAgainstCluster } from "../magics/validate";
import type { ClusterDiscovery } from "../jobs/slurm/discovery";
import type { ClusterInfo } from "../jobs/slurm/cluster-info";
import type { RequestedResources } from "../jobs/diagnose";
import { allocationOf, billingRate, limitSeconds } from "../jobs/slurm/billing";

export interface EffectiveOptions {
  sbatch: SbatchPair[];
  detach: boolean;
  requested: RequestedResources;
  /** The partition the job will run in: its own --partition, else the cluster's default (when known). */
  partition?: string;
  /** The conda environment the cell asked for (--env), else this notebook's (%slurm --env). */
  env?: string;
  /**
   * The options the cell itself set (its %%slurm / #SBATCH lines and profile), as checked: what is
   * compared with a held allocation (the defaults are the allocation's business).
   */
  own: SbatchPair[];
  /** Its profile runs cells in a held allocation (`profiles.NAME.allocate: true`): that profile. */
  allocate?: { profile: string; sbatch: SbatchPair[] };
}

/** Later lists override earlier ones, option by option (sbatch's --mem/--mem-per-cpu exclusivity kept). */
export function mergePairs(...lists: readonly (readonly SbatchPair[])[]): SbatchPair[] {
  return lists.reduce<SbatchPair[]>((acc, list) => mergeSbatch(acc, list), []);
}

function valueOf(pairs: readonly SbatchPair[], long: string): string | undefined {
  return pairs.find(([k]) => k === long)?.[1];
}

export function requestedOf(pairs: readonly SbatchPair[]): RequestedResources {
  return {
    time: valueOf(pairs, "--time"),
    mem: valueOf(pairs, "--mem") ?? valueOf(pairs, "--mem-per-cpu"),
    partition: valueOf(pairs, "--partition"),
  };
}

/**
 * The account a cell without --account is charged to on a site that requires one: the user's
 * default account when they may charge it, else their only one.
 * @throws MagicError listing the accounts to choose from.
 */
export function defaultAccount(info: ClusterInfo): string {
  const accounts = [...new Set(info.associations.map((a) => a.account).filter(Boolean))];
  if (info.defaultAccount && accounts.includes(info.defaultAccount)) return info.defaultAccount;
  if (accounts.length === 1) return accounts[0]!;
  if (!accounts.length)
    throw new MagicError(
      "this cluster requires --account, and Slurm lists no account you may charge (sacctmgr show assoc): ask your allocation's owner to add you",
    );
  throw new MagicError(
    `this cluster requires --account: choose one of ${accounts.join(", ")} with \`%slurm --account ${accounts[0]}\` (or slurm.defaults in your configuration)`,
  );
}

/** The billing TRES and time limit of a job (what its service units are estimated from). */
function billingOf(
  sbatch: SbatchPair[],
  partition: string | undefined,
  info: ClusterInfo,
): RequestedResources {
  const p = info.partitions.find((x) => x.name === partition);
  if (!p) return {};
  const rate = billingRate(allocationOf(sbatch, p), p.billingWeights, info.billingMaxTres);
  const limit = limitSeconds(sbatch, p);
  return {
    ...(rate !== undefined ? { billing: rate } : {}),
    ...(limit !== null ? { limitSeconds: limit } : {}),
  };
}

/** Options that make sense for one cell only: as defaults every following cell would get them. */
const ONE_CELL = ["--array", "--dependency"];

function refuseOneCellOptions(sbatch: readonly SbatchPair[], where: string): void {
  const found = sbatch.find(([k]) => ONE_CELL.includes(k));
  if (found)
    throw new MagicError(
      `${found[0]} applies to one cell: use it with %%slurm on that cell, not as a default in ${where}`,
    );
}

export class CellOptions {
  private readonly configDefaults: SbatchPair[];
  /** `%slurm --env NAME`: this notebook's conda environment (persisted with the session). */
  notebookEnv: string | undefined;

  constructor(
    private readonly config: Config,
    /** Present on the slurm backend: the cluster's limits. */
    private readonly discovery: ClusterDiscovery | undefined,
    /** What %slurm set in this notebook (persisted with the session). */
    public notebookDefaults: SbatchPair[] = [],
    /** The resource profile of the kernelspec that opened this notebook ("Python (Alpine · GPU)"). */
    private readonly kernelProfile?: string,
  ) {
    const profile = config.profile
      ? this.parseConfigOptions(config.profile.sbatchDefaults, `cluster_profile ${config.profile.name}`)
      : [];
    this.configDefaults = mergePairs(
      profile,
      this.parseConfigOptions(config.slurm.defaults, "slurm.defaults"),
    );
  }

  private parseConfigOptions(text: string, key: string): SbatchPair[] {
    try {
      const parsed = parseSlurmOptions(tokenize(text), key);
      if (parsed.detach || parsed.profile || parsed.env || parsed.after)
        throw new MagicError("--detach, --profile, --env and --after belong in cells, not here");
      if (key === "slurm.defaults") refuseOneCellOptions(parsed.sbatch, "slurm.defaults");
      return parsed.sbatch;
    } catch (err) {
      throw new ConfigError(`${this.config.source}: ${key}: ${(err as Error).message}`);
    }
  }

  private profile(name: string): SbatchPair[] {
    const value = this.config.slurm.profiles[name];
    if (value === undefined) {
      const known = Object.keys(this.config.slurm.profiles);
      throw new MagicError(
        `no profile '${name}' in your configuration${known.length ? `; profiles: ${known.join(", ")}` : " (add one under slurm.profiles)"}`,
      );
    }
    return this.parseConfigOptions(profileOptions(value), `slurm.profiles.${name}`);
  }

  /** The configuration's defaults, then the kernelspec's profile: what every cell of this notebook starts from. */
  private base(): SbatchPair[] {
    return this.kernelProfile
      ? mergePairs(this.configDefaults, this.profile(this.kernelProfile))
      : this.configDefaults;
  }

  /** Merged options for a cell; validated against the cluster on the slurm backend. */
  async effective(cell: ParsedOptions | undefined): Promise<EffectiveOptions> {
    const profile = cell?.profile ? this.profile(cell.profile) : [];
    const sbatch = mergePairs(this.base(), this.notebookDefaults, profile, cell?.sbatch ?? []);
    const checked = await this.validate(sbatch);
    const requested: RequestedResources = { ...requestedOf(checked) };
    const partition = requested.partition ?? (await this.defaultPartition());
    if (this.discovery) Object.assign(requested, billingOf(checked, partition, await this.discovery.get()));
    const env = cell?.env ?? this.notebookEnv;
    const ownKeys = new Set([...profile, ...(cell?.sbatch ?? [])].map(([k]) => k));
    const own = checked.filter(([k]) => ownKeys.has(k));
    const name = cell?.profile;
    const allocate =
      name && profileAllocates(this.config.slurm.profiles[name])
        ? {
            profile: name,
            sbatch: await this.validate(mergePairs(this.configDefaults, this.notebookDefaults, profile)),
          }
        : undefined;
    return {
      sbatch: checked,
      detach: cell?.detach ?? false,
      requested,
      partition,
      own,
      ...(env ? { env } : {}),
      ...(allocate ? { allocate } : {}),
    };
  }

  /**
   * A rerun's options: those its first run was submitted with (`base`, already merged), the
   * rerun cell's own on top; checked against the cluster like any cell's.
   */
  async effectiveFrom(
    base: readonly SbatchPair[],
    cell: ParsedOptions | undefined,
  ): Promise<EffectiveOptions> {
    const profile = cell?.profile ? this.profile(cell.profile) : [];
    const checked = await this.validate(mergePairs(base, profile, cell?.sbatch ?? []));
    const requested: RequestedResources = { ...requestedOf(checked) };
    const partition = requested.partition ?? (await this.defaultPartition());
    if (this.discovery) Object.assign(requested, billingOf(checked, partition, await this.discovery.get()));
    const env = cell?.env ?? this.notebookEnv;
    // An array's tasks never run in a held allocation: all its options are its own.
    return {
      sbatch: checked,
      detach: cell?.detach ?? false,
      requested,
      partition,
      own: checked,
      ...(env ? { env } : {}),
    };
  }

  /** `%slurm OPTIONS`: validates the new defaults (merged as a cell would see them) and keeps them. */
  async setNotebookDefaults(parsed: ParsedOptions): Promise<void> {
    if (parsed.detach) throw new MagicError("--detach applies to one cell: use it with %%slurm, not %slurm");
    if (parsed.after) throw new MagicError("--after applies to one cell: use it with %%slurm, not %slurm");
    refuseOneCellOptions(parsed.sbatch, "%slurm");
    const profile = parsed.profile ? this.profile(parsed.profile) : [];
    const next = mergePairs(this.notebookDefaults, profile, parsed.sbatch);
    await this.validate(mergePairs(this.base(), next));
    this.notebookDefaults = next;
    if (parsed.env) this.notebookEnv = parsed.env;
  }

  private async defaultPartition(): Promise<string | undefined> {
    if (!this.discovery) return undefined;
    return (await this.discovery.get()).partitions.find((p) => p.isDefault)?.name;
  }

  private async validate(sbatch: SbatchPair[]): Promise<SbatchPair[]> {
    if (!this.discovery) return sbatch;
    const info = await this.discovery.get();
    const withAccount =
      this.config.slurm.account_required && !valueOf(sbatch, "--account")
        ? [...sbatch, ["--account", defaultAccount(info)] as SbatchPair]
        : sbatch;
    return validateAgainstCluster(withAccount, info, {
      renamedPartitions: this.config.slurm.renamed_partitions,
    });
  }

  /** The settings a cell would get now, as `%slurm` shows them. */
  async describe(): Promise<{ pairs: SbatchPair[]; sources: Record<string, string> }> {
    const sources: Record<string, string> = {};
    for (const [k] of this.configDefaults) sources[k] = "config";
    if (this.kernelProfile)
      for (const [k] of this.profile(this.kernelProfile))
        sources[k] = `kernel (--profile ${this.kernelProfile})`;
    for (const [k] of this.notebookDefaults) sources[k] = "%slurm";
    return { pairs: mergePairs(this.base(), this.notebookDefaults), sources };
  }
}
