/** GET /api/files: what `alpine-kernel files` lists — a notebook's directory on the cluster. */
import express, { type Router } from "express";
import type { Transport } from "../cluster/transport";
import { errorMessage } from "../errors";
import type { SessionFiles } from "../jobs/session-files";
import type { Transfers } from "../jobs/transfers";
import type { FilesView } from "./api-types";

export function filesRoutes(transport: Transport, files: SessionFiles, transfers: Transfers): Router {
  const router = express.Router();
  router.get("/api/files", async (req, res) => {
    const notebook = typeof req.query.notebook === "string" ? req.query.notebook : undefined;
    if (transport.kind === "local") {
      const view: FilesView = {
        transport: "local",
        entries: [],
        message:
          "cells run in each notebook's own folder on this machine (cluster.transport: local): list it with ls",
      };
      return res.json(view);
    }
    const dir = notebook ? files.cellsDir("", notebook) : files.notebooksRoot();
    if (!dir) {
      const view: FilesView = {
        transport: "ssh",
        entries: [],
        message:
          "cluster.notebook_dir does not end in /{notebook}: name a notebook (alpine-kernel files NOTEBOOK)",
      };
      return res.json(view);
    }
    try {
      const listed = await transfers.list(dir);
      const view: FilesView = {
        transport: "ssh",
        dir: listed.dir,
        entries: listed.entries.map((e) => ({
          name: e.name,
          size: e.size,
          directory: e.isDirectory,
          modified: new Date(e.mtimeMs).toISOString(),
        })),
        ...(listed.entries.length
          ? {}
          : { message: `${listed.dir} is empty or does not exist yet (a notebook's first cell creates it)` }),
      };
      res.json(view);
    } catch (err) {
      res.status(502).json({ message: `cannot list ${dir} on the cluster: ${errorMessage(err)}` });
    }
  });
  return router;
}
