/**
 * The jobs comm (target `alpine_kernel.jobs`): how the JupyterLab extension gets the jobs feed
 * wherever the notebook's kernel works — JupyterLab on the cluster, on a laptop, through a gateway —
 * because it rides the kernel's own channels (comm_open/comm_msg/comm_close of the Jupyter messaging
 * spec), never a connection from the browser to this server. A comm says which notebook it is
 * (jump-to-cell needs the frontend's path), may subscribe to the feed (a lease it renews: a tab
 * closed without a word stops costing anything), and asks to cancel a cell or read its output's tail.
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { FeedListener } from "../cells/job-feed";
import { errorMessage } from "../errors";
import {
  FEED_LEASE_SECONDS,
  JOBS_COMM_TARGET,
  type JobsFeedMessage,
  type JobsFeedRequest,
} from "../protocol/jobs-feed";
import type { CommMessage, ContentByType, MessageHeader, MsgType, RawMessage } from "../protocol/messages";
import { asComm } from "../protocol/validate";
import { allocationIdOf, allocationTailError, releaseFromFeed } from "./allocation-actions";
import { cancelCellJob, outputTail } from "./cell-jobs";
import type { SessionEnvironment } from "./environment";

/** What the comms need of their session. */
export interface CommHost {
  readonly id: string;
  readonly env: SessionEnvironment;
  readonly log: Logger;
  publish<T extends MsgType>(type: T, content: ContentByType[T], parent: MessageHeader): void;
  setNotebookPath(path: string): void;
}

interface OpenComm {
  id: string;
  /** The comm_open's header: the parent of what the kernel sends on this comm. */
  parent: MessageHeader;
  unsubscribe?: () => void;
  lease?: NodeJS.Timeout;
}

const MAX_PATH = 4096;
const MAX_TAIL_LINES = 500;

const openData = z.object({
  notebook_path: z.string().min(1).max(MAX_PATH).optional(),
  subscribe: z.boolean().optional(),
});
const cellId = z.string().min(1).max(300);
const requestId = z.string().min(1).max(100);
const request: z.ZodType<JobsFeedRequest> = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe") }),
  z.object({ type: z.literal("unsubscribe") }),
  z.object({ type: z.literal("notebook"), path: z.string().min(1).max(MAX_PATH) }),
  z.object({ type: z.literal("cancel"), requestId, id: cellId }),
  z.object({
    type: z.literal("tail"),
    requestId,
    id: cellId,
    lines: z.number().int().min(1).max(MAX_TAIL_LINES).optional(),
  }),
]);

const issues = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.join(".") || "data"}: ${i.message}`).join("; ");

export class JobsComms {
  private readonly comms = new Map<string, OpenComm>();

  constructor(private readonly host: CommHost) {}

  /** comm_info_reply's `comms`: the open jobs comms (all targets are ours). */
  info(target?: string): Record<string, { target_name: string }> {
    if (target !== undefined && target !== JOBS_COMM_TARGET) return {};
    return Object.fromEntries([...this.comms.keys()].map((id) => [id, { target_name: JOBS_COMM_TARGET }]));
  }

  get subscribed(): number {
    return [...this.comms.values()].filter((c) => c.unsubscribe).length;
  }

  /** A comm message as it arrived: a malformed one is logged and dropped. Never throws. */
  handleRaw(raw: RawMessage): void {
    let msg: CommMessage;
    try {
      msg = asComm(raw);
    } catch (err) {
      this.host.log.warn(
        { msg_type: raw.header.msg_type },
        `malformed comm message dropped: ${errorMessage(err)}`,
      );
      return;
    }
    this.handle(msg);
  }

  /** A comm message from a frontend. Never throws: what is wrong is said on the comm. */
  handle(msg: CommMessage): void {
    const { comm_id } = msg.content;
    if (msg.header.msg_type === "comm_open") {
      const { target_name, data } = (msg as Extract<CommMessage, { header: { msg_type: "comm_open" } }>)
        .content;
      if (target_name !== JOBS_COMM_TARGET) {
        // As ipykernel does: an unknown target is closed at once, so the frontend knows.
        this.host.log.info({ target_name }, "comm_open for an unknown target: closed");
        this.host.publish("comm_close", { comm_id, data: {} }, msg.header);
        return;
      }
      this.close(comm_id, false);
      const comm: OpenComm = { id: comm_id, parent: msg.header };
      this.comms.set(comm_id, comm);
      const parsed = openData.safeParse(data);
      if (!parsed.success) return this.send(comm, { type: "error", message: issues(parsed.error) });
      if (parsed.data.notebook_path) this.setPath(parsed.data.notebook_path);
      if (parsed.data.subscribe) this.subscribe(comm);
    } else if (msg.header.msg_type === "comm_close") {
      this.close(comm_id, false);
    } else {
      const comm = this.comms.get(comm_id);
      if (!comm) return this.host.log.debug({ comm_id }, "comm_msg for a comm that is not open: ignored");
      const parsed = request.safeParse(msg.content.data);
      if (!parsed.success)
        return this.send(comm, { type: "error", message: `bad request: ${issues(parsed.error)}` });
      void this.answer(comm, parsed.data); // answer() reports its own failures on the comm
    }
  }

  /** Drops every comm (the kernel restarted or shut down: frontends drop theirs too). */
  closeAll(): void {
    for (const id of [...this.comms.keys()]) this.close(id, false);
  }

  private async answer(comm: OpenComm, req: JobsFeedRequest): Promise<void> {
    const { env } = this.host;
    switch (req.type) {
      case "subscribe":
        return this.subscribe(comm);
      case "unsubscribe":
        comm.unsubscribe?.();
        comm.unsubscribe = undefined;
        clearTimeout(comm.lease);
        return;
      case "notebook":
        return this.setPath(req.path);
    }
    if (allocationIdOf(req.id) !== undefined) return this.onAllocation(comm, req);
    const rec = env.cells.record(req.id);
    if (!rec)
      return this.send(comm, { type: "error", requestId: req.requestId, message: `no cell ${req.id}` });
    try {
      if (req.type === "cancel") {
        const message = rec.ended
          ? `job ${rec.jobId} had already ended (${rec.state})`
          : (await cancelCellJob(env, rec), `cancelled job ${rec.jobId}`);
        this.send(comm, {
          type: "cancelled",
          requestId: req.requestId,
          id: rec.id,
          jobId: rec.jobId,
          message,
        });
      } else {
        const { text, lines } = await outputTail(env.files, rec, req.lines ?? 40);
        const ended = Boolean(rec.ended);
        this.send(comm, {
          type: "tail",
          requestId: req.requestId,
          id: rec.id,
          jobId: rec.jobId,
          text,
          lines,
          ended,
        });
      }
    } catch (err) {
      this.send(comm, { type: "error", requestId: req.requestId, message: errorMessage(err) });
    }
  }

  /** Cancel on an allocation's row releases it; it has no output tail of its own. */
  private async onAllocation(
    comm: OpenComm,
    req: Extract<JobsFeedRequest, { type: "cancel" | "tail" }>,
  ): Promise<void> {
    try {
      if (req.type === "tail") throw allocationTailError(req.id);
      const done = await releaseFromFeed(this.host.env, req.id);
      if (!done) throw new Error(`no allocation ${req.id}`);
      this.send(comm, { type: "cancelled", requestId: req.requestId, ...done });
    } catch (err) {
      this.send(comm, { type: "error", requestId: req.requestId, message: errorMessage(err) });
    }
  }

  private setPath(path: string): void {
    this.host.setNotebookPath(path);
    this.host.env.cells.feed.setNotebookPath(this.host.id, path);
  }

  /** Snapshot then updates, for as long as the lease is renewed. */
  private subscribe(comm: OpenComm): void {
    clearTimeout(comm.lease);
    comm.lease = setTimeout(() => {
      this.host.log.info({ comm: comm.id }, "jobs feed subscription not renewed: closed");
      this.close(comm.id, true);
    }, FEED_LEASE_SECONDS * 1000);
    comm.lease.unref();
    if (comm.unsubscribe) return;
    const listener: FeedListener = (m) => this.send(comm, m);
    comm.unsubscribe = this.host.env.cells.feed.subscribe(listener);
  }

  private close(id: string, tell: boolean): void {
    const comm = this.comms.get(id);
    if (!comm) return;
    this.comms.delete(id);
    comm.unsubscribe?.();
    clearTimeout(comm.lease);
    if (tell) this.host.publish("comm_close", { comm_id: id, data: {} }, comm.parent);
  }

  private send(comm: OpenComm, data: JobsFeedMessage): void {
    // The feed's messages are plain JSON objects: the comm carries them as its data.
    this.host.publish("comm_msg", { comm_id: comm.id, data: { ...data } }, comm.parent);
  }
}
