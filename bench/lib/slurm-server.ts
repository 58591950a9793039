/** A slurm-backend server for benchmarks, running as the test cluster's ordinary user (as on Alpine). */
export {
  requireCluster,
  startSlurmServer,
  cancelUserJobs,
  type ClusterEnv,
  type SlurmServer,
} from "../../test/helpers/slurm";
export { startKernel, WsKernelClient } from "../../test/helpers/ws-client";
