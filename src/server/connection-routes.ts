/**
 * The cluster connection over REST, for `alpine-kernel login / status / logout`:
 *   GET  /api/connection                  state and the login prompts waiting for an answer
 *   GET  /api/connection/prompts?wait=S&since=V   the same, answered as soon as something changes
 *                                         (long poll); at once when `version` is no longer V
 *   POST /api/connection/login            open the connection (prompts then wait to be answered)
 *   POST /api/connection/prompts/:id      {answers: [...]} — never logged
 *   POST /api/connection/logout           close it; the next use needs a new login
 */
import type { Router } from "express";
import express from "express";
import type { Logger } from "pino";
import { z } from "zod";
import { SshTransport } from "../cluster/ssh-transport";
import type { Transport } from "../cluster/transport";
import { errorMessage } from "../errors";
import type { ConnectionView, ErrorBody, PromptAnswerResult } from "./api-types";
import type { PromptBroker } from "./prompt-broker";

const answerBody = z.object({ answers: z.array(z.string().max(4096)).max(10) }).strict();

export function connectionRoutes(transport: Transport, prompts: PromptBroker, log: Logger): Router {
  const router = express.Router();
  const ssh = transport instanceof SshTransport ? transport : undefined;
  // Counts changes, so a long poll can tell what its client has not seen: a prompt or a state
  // that came between the client's last answer and its next poll would otherwise wait out `wait`.
  let version = 0;
  prompts.onChange(() => version++);
  ssh?.onStateChange(() => version++);
  const view = (): ConnectionView => ({
    version,
    transport: transport.kind,
    user: transport.user,
    state: ssh ? ssh.state : { status: "connected", target: "this machine", since: "", logins: 0 },
    prompts: prompts.pending(),
  });

  router.get("/api/connection", (_req, res) => res.json(view()));

  router.get("/api/connection/prompts", (req, res) => {
    const waitMs = Math.min(Number(req.query.wait ?? 0) * 1000 || 0, 60_000);
    const since = req.query.since === undefined ? version : Number(req.query.since);
    if (waitMs <= 0 || since !== version) return res.json(view());
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      stateOff();
      res.json(view());
    };
    const unsubscribe = prompts.onChange(finish);
    const stateOff = ssh ? ssh.onStateChange(finish) : () => {};
    const timer = setTimeout(finish, waitMs);
    req.on("close", finish);
  });

  router.post("/api/connection/login", (_req, res) => {
    if (!ssh)
      return res.json({
        ...view(),
        message: "this server runs cluster commands on this machine: there is nothing to log in to",
      } satisfies ConnectionView);
    ssh.connect().then(
      () => log.info(`logged in to ${ssh.state.target}`),
      (err) => log.warn(`login to ${ssh.state.target} failed: ${errorMessage(err)}`),
    );
    res.status(202).json(view());
  });

  router.post("/api/connection/prompts/:id", express.json(), (req, res) => {
    const parsed = answerBody.safeParse(req.body);
    if (!parsed.success)
      return res.status(400).json({ message: 'the body must be {"answers": ["..."]}' } satisfies ErrorBody);
    try {
      const taken = prompts.answer(req.params.id, parsed.data.answers);
      res.status(taken ? 200 : 409).json({
        accepted: taken,
        ...(taken ? {} : { message: "that prompt was answered already or timed out" }),
      } satisfies PromptAnswerResult);
    } catch (err) {
      res.status(400).json({ message: errorMessage(err) } satisfies ErrorBody);
    }
  });

  router.post("/api/connection/logout", async (_req, res) => {
    if (ssh) await ssh.logout();
    res.json(view());
  });
  return router;
}
