/**
 * The jobs of every notebook, for people and programs outside JupyterLab: `GET /api/jobs` (JSON),
 * cancel and output tail of one cell, `GET /metrics` (Prometheus), and the standalone queue page
 * (`/queue`, live through the WebSocket of jobs-socket.ts). All from the cell book's feed: the same
 * data the JupyterLab jobs panel gets through the kernel's comm.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import express, { type Request, type Response, type Router } from "express";
import type { SessionEnvironment } from "../session/environment";
import { allocationIdOf, allocationTailError, releaseFromFeed } from "../session/allocation-actions";
import { cancelCellJob, outputTail } from "../session/cell-jobs";
import { VERSION } from "../version";
import type { CancelResult, ErrorBody, JobsList, OutputTail } from "./api-types";
import { PROMETHEUS_CONTENT_TYPE, collectMetrics, renderMetrics, type MetricsSources } from "./metrics";

/** The queue page's files (built from labextension/src/queue-page into dist/queue-page). */
export function queuePageDir(): string {
  return resolve(__dirname, "..", "queue-page");
}

const MAX_TAIL_LINES = 500;

/**
 * The page's scripts and styles: public (they hold no data, and a `<script src>` cannot carry the
 * token), mounted before the token check. Only files of that one folder; no listing.
 */
export function queuePageAssets(): Router {
  const router = express.Router();
  router.use(
    "/queue/static",
    express.static(queuePageDir(), {
      index: false,
      dotfiles: "deny",
      fallthrough: false,
      setHeaders: (res) => res.setHeader("X-Content-Type-Options", "nosniff"),
    }),
  );
  return router;
}

/** Content-Security-Policy of the page: its own scripts, styles and WebSocket, nothing else. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function jobsRoutes(
  env: SessionEnvironment,
  metrics: Omit<MetricsSources, "cells" | "scheduler">,
): Router {
  const router = express.Router();
  const { cells } = env;

  router.get("/api/jobs", (_req, res) => {
    res.json({ jobs: cells.feed.views(), now: Date.now(), version: VERSION } satisfies JobsList);
  });

  const recordOf = (req: Request, res: Response) => {
    const id = String(req.params.id);
    const rec = cells.record(id);
    if (!rec) res.status(404).json({ message: `no cell job ${id} on this server` } satisfies ErrorBody);
    return rec;
  };

  router.post("/api/jobs/:id/cancel", async (req, res) => {
    if (allocationIdOf(String(req.params.id)) !== undefined) {
      const done = await releaseFromFeed(env, String(req.params.id));
      if (!done)
        return res
          .status(404)
          .json({ message: `no allocation ${req.params.id} on this server` } satisfies ErrorBody);
      return res.json(done satisfies CancelResult);
    }
    const rec = recordOf(req, res);
    if (!rec) return;
    if (rec.ended) {
      const message = `job ${rec.jobId} had already ended (${rec.state})`;
      return res.json({ id: rec.id, jobId: rec.jobId, message } satisfies CancelResult);
    }
    await cancelCellJob(env, rec);
    res.json({ id: rec.id, jobId: rec.jobId, message: `cancelled job ${rec.jobId}` } satisfies CancelResult);
  });

  router.get("/api/jobs/:id/tail", async (req, res) => {
    if (allocationIdOf(String(req.params.id)) !== undefined)
      return res
        .status(404)
        .json({ message: allocationTailError(String(req.params.id)).message } satisfies ErrorBody);
    const rec = recordOf(req, res);
    if (!rec) return;
    const asked = req.query.lines === undefined ? 40 : Number(req.query.lines);
    if (!Number.isInteger(asked) || asked < 1 || asked > MAX_TAIL_LINES)
      return res
        .status(400)
        .json({ message: `lines must be a whole number from 1 to ${MAX_TAIL_LINES}` } satisfies ErrorBody);
    const { text, lines } = await outputTail(env.files, rec, asked);
    res.json({ id: rec.id, jobId: rec.jobId, text, lines, ended: Boolean(rec.ended) } satisfies OutputTail);
  });

  router.get("/metrics", (_req, res) => {
    const text = renderMetrics(collectMetrics({ ...metrics, cells, scheduler: env.scheduler }));
    res.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });

  router.get("/queue", (_req, res) => {
    const page = join(queuePageDir(), "index.html");
    if (!existsSync(page))
      return res.status(500).json({
        message: `the queue page is not built (${page} missing): npm run build`,
      } satisfies ErrorBody);
    res.setHeader("Content-Security-Policy", PAGE_CSP);
    // The page's address holds the token: never send it on as a Referer.
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Cache-Control", "no-store");
    res.sendFile(page);
  });
  return router;
}
