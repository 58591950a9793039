/** What the held-allocation tests share: a kernel on a server, `%slurm allocate`, the lines it shows. */
import { execFileSync } from "node:child_process";
import { streamText, type SlurmServer } from "./slurm";
import { startKernel, WsKernelClient } from "./ws-client";

export type WireMessage = Awaited<ReturnType<WsKernelClient["waitFor"]>>;

/** The texts of display outputs and their updates (status lines, the allocation's), in order. */
export const displays = (iopub: WireMessage[]) =>
  iopub
    .filter((m) => m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data")
    .map((m) => String((m.content.data as Record<string, string>)["text/plain"] ?? ""));

/** squeue's state of a job ("" once it left the queue). */
export const squeueState = (id: string) =>
  execFileSync("squeue", ["-h", "-j", id, "-o", "%T"], { encoding: "utf8" }).trim();

export async function openKernel(
  server: SlurmServer,
  notebook: string,
): Promise<{ k: WsKernelClient; id: string }> {
  const id = await startKernel(server, { KERNEL_WORKING_DIR: server.workDir, KERNEL_NOTEBOOK: notebook });
  return { k: await WsKernelClient.open(server, id, "v1"), id };
}

/** Runs `%slurm allocate OPTIONS` and returns the holder's job id once it is ready (throws otherwise). */
export async function allocate(
  k: WsKernelClient,
  options: string,
): Promise<{ holder: string; iopub: WireMessage[]; msgId: string }> {
  const r = await k.execute(`%slurm allocate ${options}`, { timeoutMs: 240_000 });
  if (r.reply.content.status !== "ok")
    throw new Error(`%slurm allocate failed: ${JSON.stringify(r.reply.content)}`);
  const m = /allocation (\d+) ready on/.exec(streamText(r.iopub));
  if (!m) throw new Error(`no ready line in ${JSON.stringify(streamText(r.iopub))}`);
  return { holder: m[1]!, iopub: r.iopub, msgId: r.msgId };
}
