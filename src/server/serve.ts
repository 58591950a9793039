/**
 * `alpine-kernel serve`: one server per user on 127.0.0.1 with a token. It owns the sessions; the
 * kernel bridges, @jupyterlab/services and Notebook's --gateway-url all talk to it.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/config";
import { dataDir } from "../config/paths";
import { Ledger } from "../ledger/ledger";
import { VERSION } from "../version";
import { createApp } from "./app";
import { createBackend } from "./backend";
import { PromptBroker } from "./prompt-broker";
import { attachChannels } from "./channels";
import { jobsSocket } from "./jobs-socket";
import { maxMessageBytes } from "../protocol/limits";
import { KernelManager } from "./kernel-manager";
import { removeRuntimeFile, writeRuntimeFile } from "../config/runtime-file";

export interface ServeOptions {
  config: Config;
  log: Logger;
  port?: number;
  token?: string;
  /** Exit after config.server.idle_timeout_seconds with no clients and no cells in flight. */
  idleExit?: boolean;
  /** Write the runtime file that bridges and the CLI read (off for embedded test servers). */
  runtimeFile?: boolean;
  ledgerPath?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  kernels: KernelManager;
  server: Server;
  /** Resolves when the server has stopped (close(), idle exit, or a signal). */
  closed: Promise<void>;
  close(): Promise<void>;
}

const IDLE_CHECK_MS = 5000;

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { config, log } = opts;
  const token = opts.token ?? randomBytes(24).toString("hex");
  const ledger = new Ledger(opts.ledgerPath ?? join(dataDir(), "ledger.jsonl"), {
    // Said in the log, and on stderr for whoever started the server in the foreground.
    warn: (message) => {
      log.warn(message);
      process.stderr.write(`alpine-kernel: ${message}\n`);
    },
  });
  const prompts = new PromptBroker(config.cluster.prompt_timeout_seconds * 1000);
  const backend = createBackend(config, ledger, log, prompts);
  const kernels = new KernelManager(backend.env);
  const access = {
    token,
    allowOrigins: config.server.allow_origins,
    allowHosts: config.server.allow_hosts,
  };
  const app = createApp({
    kernels,
    access,
    log,
    transport: backend.transport,
    backend: config.backend,
    prompts,
    env: backend.env,
  });
  const server = createServer(app);
  const feedSocket = jobsSocket(backend.env.cells, access, log);
  const wss = attachChannels(
    server,
    kernels,
    access,
    log,
    config.server.max_cell_code_mib,
    feedSocket.upgrade,
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  if (opts.runtimeFile) {
    writeRuntimeFile({
      url,
      port,
      token,
      pid: process.pid,
      version: VERSION,
      started: new Date().toISOString(),
      backend: config.backend,
      max_message_bytes: maxMessageBytes(config.server.max_cell_code_mib),
    });
  }
  log.info(
    { url, backend: config.backend, config: config.source, work_dir: config.work_dir },
    "server listening",
  );

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let idleTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(idleTimer);
      if (opts.runtimeFile) removeRuntimeFile(process.pid);
      feedSocket.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await backend.close(); // never rejects: `closed` must resolve, or the process would wait for ever
      ledger.close();
      log.info("server stopped");
      log.flush();
      resolveClosed();
    })());

  if (opts.idleExit) {
    const limitMs = config.server.idle_timeout_seconds * 1000;
    let idleSince = Date.now();
    idleTimer = setInterval(
      () => {
        const a = kernels.activity();
        // A queue page left open (the jobs feed's WebSocket) is someone watching too.
        const watched = backend.env.cells.feed.subscribers > 0;
        if (a.connections > 0 || a.cellsInFlight > 0 || watched) idleSince = Date.now();
        else if (Date.now() - Math.max(idleSince, a.lastActivity) >= limitMs) {
          log.info(
            `idle for ${config.server.idle_timeout_seconds} s with no clients and no cells in flight: exiting`,
          );
          void close(); // never rejects: it logs what failed
        }
      },
      Math.min(IDLE_CHECK_MS, limitMs),
    );
    idleTimer.unref();
  }
  return { url, port, token, kernels, server, closed, close };
}
