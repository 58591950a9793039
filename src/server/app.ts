/** The REST side of the server: a Jupyter Server compatible kernels API, plus metrics. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { z } from "zod";
import { AlpineKernelError, errorMessage } from "../errors";
import { DEFAULT_KERNEL_NAME, kernelSpec, logoDir } from "../kernel/kernelspec";
import type { Transport } from "../cluster/transport";
import { VERSION } from "../version";
import type {
  ApiInfo,
  ErrorBody,
  KernelModel,
  KernelSpecList,
  KernelSpecModel,
  ServerMetrics,
  ServerStatus,
} from "./api-types";
import { allowedOrigin, refusal, type AccessPolicy } from "./auth";
import { connectionRoutes } from "./connection-routes";
import { filesRoutes } from "./files-routes";
import { jobsRoutes, queuePageAssets } from "./jobs-routes";
import type { SessionEnvironment } from "../session/environment";
import type { PromptBroker } from "./prompt-broker";
import type { KernelManager } from "./kernel-manager";

const startBody = z
  .object({
    name: z.string().optional(),
    path: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

const noKernel = (id: string): ErrorBody => ({ message: `Kernel does not exist: ${id}` });

function specModel(baseUrl = ""): KernelSpecModel {
  return {
    name: DEFAULT_KERNEL_NAME,
    spec: kernelSpec(),
    resources: {
      "logo-32x32": `${baseUrl}/kernelspecs/${DEFAULT_KERNEL_NAME}/logo-32x32.png`,
      "logo-64x64": `${baseUrl}/kernelspecs/${DEFAULT_KERNEL_NAME}/logo-64x64.png`,
    },
  };
}

export function createApp(deps: {
  kernels: KernelManager;
  access: AccessPolicy;
  log: Logger;
  transport: Transport;
  backend: string;
  prompts: PromptBroker;
  env: SessionEnvironment;
}) {
  const { kernels, access, log } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.use(queuePageAssets());
  app.use((req, res, next) => {
    // A page of an origin in server.allow_origins may read the answers (CORS); its preflight
    // carries no token, as browsers send none.
    const origin = allowedOrigin(req, access);
    if (origin) res.set({ "Access-Control-Allow-Origin": origin, Vary: "Origin" });
    if (origin && req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      res.set({
        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, X-XSRFToken",
        "Access-Control-Max-Age": "600",
      });
      return res.status(204).end();
    }
    const refused = refusal(req, access);
    if (!refused) return next();
    log.warn({ method: req.method, path: req.path }, `request refused: ${refused.message}`);
    res.status(refused.status).json({ message: refused.message } satisfies ErrorBody);
  });
  app.use(express.json({ limit: "1mb" }));

  app.get("/api", (_req, res) =>
    res.json({ version: VERSION, implementation: "alpine-kernel" } satisfies ApiInfo),
  );
  app.get("/api/status", (_req, res) => {
    const a = kernels.activity();
    res.json({
      started: new Date(Date.now() - process.uptime() * 1000).toISOString(),
      last_activity: new Date(a.lastActivity || Date.now()).toISOString(),
      connections: a.connections,
      kernels: kernels.list().length,
    } satisfies ServerStatus);
  });
  app.get("/api/metrics", (_req, res) => {
    res.json({
      backend: deps.backend,
      transport: deps.transport.kind,
      commands: Object.fromEntries(deps.transport.commandCounts),
      fileOps: Object.fromEntries(deps.transport.fileOpCounts),
      ...kernels.activity(),
    } satisfies ServerMetrics);
  });

  app.use(connectionRoutes(deps.transport, deps.prompts, log));
  app.use(filesRoutes(deps.transport, deps.env.files, deps.env.transfers));
  app.use(
    jobsRoutes(deps.env, {
      transport: deps.transport,
      activity: () => kernels.activity(),
      kernels: () => kernels.list().length,
    }),
  );

  app.get("/api/kernelspecs", (_req, res) =>
    res.json({
      default: DEFAULT_KERNEL_NAME,
      kernelspecs: { [DEFAULT_KERNEL_NAME]: specModel() },
    } satisfies KernelSpecList),
  );
  app.get("/api/kernelspecs/:name", (req, res) => {
    if (req.params.name !== DEFAULT_KERNEL_NAME)
      return res
        .status(404)
        .json({ message: `Kernel spec ${req.params.name} not found` } satisfies ErrorBody);
    res.json(specModel());
  });
  app.get("/kernelspecs/:name/:file", (req, res) => {
    const file = join(logoDir(), req.params.file);
    if (
      req.params.name !== DEFAULT_KERNEL_NAME ||
      !/^logo-\d+x\d+\.png$/.test(req.params.file) ||
      !existsSync(file)
    ) {
      return res.status(404).end();
    }
    res.sendFile(file);
  });

  app.get("/api/kernels", (_req, res) =>
    res.json(kernels.list().map((s) => kernels.model(s)) satisfies KernelModel[]),
  );
  app.post("/api/kernels", (req, res) => {
    const parsed = startBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      return res.status(400).json({
        message: `bad request body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
      } satisfies ErrorBody);
    }
    const env = parsed.data.env ?? {};
    const session = kernels.start({
      name: parsed.data.name,
      workDir: env.KERNEL_WORKING_DIR,
      notebook: env.KERNEL_NOTEBOOK ?? env.JPY_SESSION_NAME ?? parsed.data.path,
      jupyterPython: env.KERNEL_JUPYTER_PYTHON,
      profile: env.KERNEL_PROFILE,
    });
    log.info({ kernel: session.id }, "kernel started");
    res.status(201).location(`/api/kernels/${session.id}`).json(kernels.model(session));
  });
  app.get("/api/kernels/:id", (req, res) => {
    const s = kernels.get(req.params.id);
    if (!s) return res.status(404).json(noKernel(req.params.id));
    res.json(kernels.model(s));
  });
  app.delete("/api/kernels/:id", async (req, res) => {
    if (!(await kernels.shutdown(req.params.id))) return res.status(404).json(noKernel(req.params.id));
    log.info({ kernel: req.params.id }, "kernel shut down");
    res.status(204).end();
  });
  app.post("/api/kernels/:id/interrupt", async (req, res) => {
    const s = kernels.get(req.params.id);
    if (!s) return res.status(404).json(noKernel(req.params.id));
    await s.interrupt();
    res.status(204).end();
  });
  app.post("/api/kernels/:id/restart", async (req, res) => {
    const s = kernels.get(req.params.id);
    if (!s) return res.status(404).json(noKernel(req.params.id));
    await s.restart();
    res.json(kernels.model(s));
  });

  app.use((_req, res) => res.status(404).json({ message: "Not found" } satisfies ErrorBody));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof AlpineKernelError ? 400 : ((err as { status?: number }).status ?? 500);
    if (status >= 500) log.error(`request failed: ${errorMessage(err)}`);
    // body-parser's own wording ("Expected property name ... at position 1") does not say what it is about.
    const prefix =
      (err as { type?: string }).type === "entity.parse.failed" ? "request body is not valid JSON: " : "";
    res.status(status).json({ message: prefix + errorMessage(err) } satisfies ErrorBody);
  });
  return app;
}
