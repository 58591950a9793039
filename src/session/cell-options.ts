/**
 * A cell's effective Slurm options: the configuration's defaults, then what %slurm set in this
 * notebook, then a profile, then the cell's own %%slurm / #SBATCH options — later ones win.
 * On the slurm backend the result is checked against the cluster's own limits before anything is
 * submitted.
 */
import type { Config } from "../config/config";
import { ConfigError } from "../config/config";
import { mergeSbatch, parseSlurmOptions } from "../magics/sbatch-args";
import { tokenize } from "../magics/tokenize";
import { MagicError, type ParsedOptions, type SbatchPair } from "../magics/types";
import { validateAgainstCluster } from "../magics/validate";
import type { ClusterDiscovery } from "../jobs/slurm/discovery";
import type { RequestedResources } from "../jobs/diagnose";

export interface EffectiveOptions {
  sbatch: SbatchPair[];
  detach: boolean;
  requested: RequestedResources;
  /** The partition the job will run in: its own --partition, else the cluster's default (when known). */
  partition?: string;
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

  constructor(
    private readonly config: Config,
    /** Present on the slurm backend: the cluster's limits. */
    private readonly discovery: ClusterDiscovery | undefined,
    /** What %slurm set in this notebook (persisted with the session). */
    public notebookDefaults: SbatchPair[] = [],
  ) {
    this.configDefaults = this.parseConfigOptions(config.slurm.defaults, "slurm.defaults");
  }

  private parseConfigOptions(text: string, key: string): SbatchPair[] {
    try {
      const parsed = parseSlurmOptions(tokenize(text), key);
      if (parsed.detach || parsed.profile || parsed.after)
        throw new MagicError("--detach, --profile and --after belong in cells, not here");
      if (key === "slurm.defaults") refuseOneCellOptions(parsed.sbatch, "slurm.defaults");
      return parsed.sbatch;
    } catch (err) {
      throw new ConfigError(`${this.config.source}: ${key}: ${(err as Error).message}`);
    }
  }

  private profile(name: string): SbatchPair[] {
    const text = this.config.slurm.profiles[name];
    if (text === undefined) {
      const known = Object.keys(this.config.slurm.profiles);
      throw new MagicError(
        `no profile '${name}' in your configuration${known.length ? `; profiles: ${known.join(", ")}` : " (add one under slurm.profiles)"}`,
      );
    }
    return this.parseConfigOptions(text, `slurm.profiles.${name}`);
  }

  /** Merged options for a cell; validated against the cluster on the slurm backend. */
  async effective(cell: ParsedOptions | undefined): Promise<EffectiveOptions> {
    const profile = cell?.profile ? this.profile(cell.profile) : [];
    const sbatch = mergePairs(this.configDefaults, this.notebookDefaults, profile, cell?.sbatch ?? []);
    const checked = await this.validate(sbatch);
    const requested = requestedOf(checked);
    const partition = requested.partition ?? (await this.defaultPartition());
    return { sbatch: checked, detach: cell?.detach ?? false, requested, partition };
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
    const requested = requestedOf(checked);
    const partition = requested.partition ?? (await this.defaultPartition());
    return { sbatch: checked, detach: cell?.detach ?? false, requested, partition };
  }

  /** `%slurm OPTIONS`: validates the new defaults (merged as a cell would see them) and keeps them. */
  async setNotebookDefaults(parsed: ParsedOptions): Promise<void> {
    if (parsed.detach) throw new MagicError("--detach applies to one cell: use it with %%slurm, not %slurm");
    if (parsed.after) throw new MagicError("--after applies to one cell: use it with %%slurm, not %slurm");
    refuseOneCellOptions(parsed.sbatch, "%slurm");
    const profile = parsed.profile ? this.profile(parsed.profile) : [];
    const next = mergePairs(this.notebookDefaults, profile, parsed.sbatch);
    await this.validate(mergePairs(this.configDefaults, next));
    this.notebookDefaults = next;
  }

  private async defaultPartition(): Promise<string | undefined> {
    if (!this.discovery) return undefined;
    return (await this.discovery.get()).partitions.find((p) => p.isDefault)?.name;
  }

  private async validate(sbatch: SbatchPair[]): Promise<SbatchPair[]> {
    if (!this.discovery) return sbatch;
    const info = await this.discovery.get();
    return validateAgainstCluster(sbatch, info, { renamedPartitions: this.config.slurm.renamed_partitions });
  }

  /** The settings a cell would get now, as `%slurm` shows them. */
  async describe(): Promise<{ pairs: SbatchPair[]; sources: Record<string, string> }> {
    const sources: Record<string, string> = {};
    for (const [k] of this.configDefaults) sources[k] = "config";
    for (const [k] of this.notebookDefaults) sources[k] = "%slurm";
    return { pairs: mergePairs(this.configDefaults, this.notebookDefaults), sources };
  }
}
