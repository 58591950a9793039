/** Builds what every session of this server shares, from the configuration. */
import { watch } from "node:fs";
import type { Logger } from "pino";
import { LocalTransport } from "../cluster/local-transport";
import type { Config } from "../config/config";
import type { Ledger } from "../ledger/ledger";
import type { SessionEnvironment } from "../session/job-builder";
import { installRunner, probePythonVersion } from "../slurm/environment";
import { LocalScheduler } from "../slurm/local-scheduler";
import { InputError } from "../errors";

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn().catch((err) => {
      p = undefined; // let the next caller try again
      throw err;
    });
    return p;
  };
}

function watchLocalDir(dir: string, onChange: () => void): () => void {
  try {
    const w = watch(dir, { persistent: false }, onChange);
    w.on("error", () => w.close());
    return () => w.close();
  } catch {
    return () => {}; // polling alone still works
  }
}

export function createSessionEnvironment(config: Config, ledger: Ledger, log: Logger): SessionEnvironment {
  if (config.backend !== "local") {
    throw new InputError("BACKEND_UNAVAILABLE", `backend '${config.backend}' is not available in this build; use backend: local`);
  }
  const transport = new LocalTransport();
  const scheduler = new LocalScheduler(transport);
  const loginShell = config.environment.modules.length > 0;
  return {
    transport,
    scheduler,
    config,
    ledger,
    log,
    runnerPath: once(() => installRunner(transport, config.work_dir)),
    pythonVersion: once(() => probePythonVersion(transport, config.environment, loginShell)),
    watchDir: watchLocalDir,
  };
}
