/**
 * Discovers partitions, their limits and the user's accounts from Slurm itself, and caches them for
 * discovery_ttl_seconds. Names change on real clusters (Alpine renamed amilan to acpu in 2026),
 * so nothing here is hard-coded.
 */
import { CommandError, type Transport } from "../../cluster/transport";
import { ClusterError, errorMessage } from "../../errors";
import type { ClusterInfo } from "./cluster-info";
import { isOutage } from "./outage";
import {
  SCONTROL_CONFIG_ARGV,
  SCONTROL_PARTITIONS_ARGV,
  SINFO_NODE_SIZES_ARGV,
  parseClusterInfo,
  sacctmgrUserArgv,
} from "./parse-cluster";

/**
 * A Slurm command that ran and failed is a discovery failure; anything else (the SSH login was
 * refused, a login prompt went unanswered, an unknown host key) keeps its own error and name.
 */
function discoveryError(err: unknown, what: string): unknown {
  return err instanceof CommandError
    ? new ClusterError("DISCOVERY_FAILED", `${what}: ${errorMessage(err)}`, { cause: err })
    : err;
}

export class ClusterDiscovery {
  private cached: ClusterInfo | undefined;
  /** The last discovery, kept past its TTL: used while the controller does not answer. */
  private stale: ClusterInfo | undefined;
  private pending: Promise<ClusterInfo> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly ttlMs: number,
  ) {}

  /** The cluster as last discovered, asking Slurm again when the cache is older than the TTL. */
  get(): Promise<ClusterInfo> {
    if (this.cached && Date.now() - this.cached.discoveredAt < this.ttlMs)
      return Promise.resolve(this.cached);
    this.pending ??= this.discover()
      .catch((err: unknown) => {
        // The controller not answering is no reason to fail a cell: what Slurm said last still holds.
        if (this.stale && isOutage(err instanceof ClusterError && err.cause ? err.cause : err))
          return this.stale;
        throw err;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forget the cache (after sbatch refused something we thought valid). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async discover(): Promise<ClusterInfo> {
    const run = async (argv: readonly string[]) =>
      (await this.transport.run(argv, { timeoutMs: 60_000 })).stdout;
    const [partitions, nodeSizes, user, config] = await Promise.all([
      run(SCONTROL_PARTITIONS_ARGV).catch((err) => {
        throw discoveryError(err, "cannot list the cluster's partitions");
      }),
      run(SINFO_NODE_SIZES_ARGV).catch(() => ""), // sizes only sharpen the checks
      run(sacctmgrUserArgv(this.transport.user)).catch((err) => {
        throw discoveryError(err, "cannot list your Slurm accounts");
      }),
      run(SCONTROL_CONFIG_ARGV).catch(() => ""), // only sharpens service-unit estimates
    ]);
    const info: ClusterInfo = parseClusterInfo({ partitions, nodeSizes, user, config }, Date.now());
    this.cached = this.stale = info;
    return info;
  }
}
