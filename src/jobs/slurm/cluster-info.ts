/**
 * What the kernel knows about the cluster's partitions and the user's accounts, discovered with
 * scontrol/sinfo/sacctmgr (never hard-coded: Alpine renames partitions and QoS).
 */
import type { BillingWeights } from "./billing";

export interface PartitionInfo {
  name: string;
  isDefault: boolean;
  /** MaxTime in seconds; null when UNLIMITED. */
  maxTimeSeconds: number | null;
  /** DefaultTime in seconds; null when not set. */
  defaultTimeSeconds: number | null;
  /** GPUs in the whole partition (gres/gpu in its TRES); 0 when none. */
  gpus: number;
  /** Largest memory of one node in the partition, MB (null when unknown). */
  maxNodeMemoryMb: number | null;
  /** Most CPUs of one node in the partition (null when unknown). */
  maxNodeCpus: number | null;
  /** QoS allowed on the partition (empty = any), from AllowQos. */
  allowQos: string[];
  state: string;
  /** Its nodes in Slurm's hostlist spelling (`c3cpu-a1-u1-[1-4]`), when known. */
  nodes?: string;
  /** TRESBillingWeights (billing.ts); null when the partition has none (billing = CPUs). */
  billingWeights: BillingWeights | null;
  /** DefMemPerCPU in MB: the memory of a job that asks for none (null when not set). */
  defMemPerCpuMb: number | null;
}

export interface Association {
  account: string;
  /** Empty when the association covers every partition. */
  partition: string;
  qos: string[];
}

export interface ClusterInfo {
  partitions: PartitionInfo[];
  associations: Association[];
  /** The user's default account (sacctmgr show user), when known. */
  defaultAccount?: string;
  /** PriorityFlags has MAX_TRES: billing is the largest weighted TRES, not their sum. */
  billingMaxTres?: boolean;
  /** MaxArraySize: array task ids must be below it (scontrol show config). */
  maxArraySize?: number;
  /** SchedulerParameters' max_array_tasks: most tasks one array may have. */
  maxArrayTasks?: number;
  /** When this was discovered (ms since epoch). */
  discoveredAt: number;
}
