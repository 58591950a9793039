/** `alpine-kernel serve` */
import { loadConfig } from "../config/config";
import { runtimeFilePath } from "../config/runtime-file";
import { dataDir } from "../config/paths";
import { makePrivateDir, PRIVATE_UMASK } from "../config/private-files";
import { InputError } from "../errors";
import { findServer } from "../kernel/server-connection";
import { createLogger } from "../server/logger";
import { startServer } from "../server/serve";

export async function serveCommand(opts: {
  port: number;
  idleExit: boolean;
  logFile?: string;
}): Promise<void> {
  // Whatever the server and the commands it runs create (ledger, logs, sbatch's .out/.err files,
  // the local backend's jobs) is private to this user.
  process.umask(PRIVATE_UMASK);
  makePrivateDir(dataDir());
  const config = loadConfig();
  const running = await findServer();
  if (running) {
    throw new InputError(
      "ALREADY_RUNNING",
      `a server is already running at ${running.url} (pid ${running.pid}); stop it with \`alpine-kernel stop\``,
    );
  }
  const log = createLogger(opts.logFile, config.server.log_level);
  const server = await startServer({
    config,
    log,
    port: opts.port,
    idleExit: opts.idleExit,
    runtimeFile: true,
  });
  // Always on the terminal (also with --log-file): where clients find the URL and the token.
  process.stderr.write(
    `alpine-kernel server on ${server.url} (backend ${config.backend}); its token is in ${runtimeFilePath()} (mode 0600)\n` +
      `jobs of every notebook: \`alpine-kernel open\` (the queue page)\n`,
  );
  const stop = () => void server.close();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await server.closed;
  process.exit(0);
}
