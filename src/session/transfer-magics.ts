/**
 * `%upload` and `%download`: a file between the notebook's folder on this machine and the folder its
 * cells run in on the cluster, with a progress line updated in place and a last line that says what
 * arrived where (size, time, checksum).
 */
import { randomUUID } from "node:crypto";
import type { TransferRequest, TransferResult } from "../jobs/transfers";
import { MagicError } from "../magics/types";
import type { CellHost } from "./cell-host";
import type { OutputSink } from "./cell-output";
import { escapeHtml } from "./html";

const FLAGS = new Set(["--force", "-f"]);

function parseArgs(name: "upload" | "download", args: string[]): { force: boolean; paths: string[] } {
  const force = args.some((a) => FLAGS.has(a));
  const unknown = args.find((a) => a.startsWith("-") && !FLAGS.has(a) && a !== "-");
  if (unknown) throw new MagicError(`%${name}: unknown option ${unknown} (only --force)`);
  const paths = args.filter((a) => !FLAGS.has(a));
  if (paths.length < 1 || paths.length > 2) throw new MagicError(`usage: %${name} [--force] PATH [DEST]`);
  return { force, paths };
}

function megabytes(bytes: number): string {
  const mb = bytes / 1e6;
  return mb >= 100
    ? `${mb.toFixed(0)} MB`
    : mb >= 1
      ? `${mb.toFixed(1)} MB`
      : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

/** One line, shown once and then updated in place (display_id). */
function progressLine(out: OutputSink): (text: string) => void {
  const id = `alpine-kernel-transfer-${randomUUID()}`;
  let shown = false;
  return (text) => {
    const data = {
      "text/plain": text,
      "text/html": `<div style="font-family:monospace;color:#37474f">${escapeHtml(text)}</div>`,
    };
    out.display(shown ? "update_display_data" : "display_data", {
      data,
      metadata: {},
      transient: { display_id: id },
    });
    shown = true;
  };
}

export async function transferMagic(
  name: "upload" | "download",
  args: string[],
  host: CellHost,
  out: OutputSink,
): Promise<void> {
  const { force, paths } = parseArgs(name, args);
  const [source, destination] = paths as [string, string?];
  const arrow = name === "upload" ? "→ cluster" : "→ this machine";
  const show = progressLine(out);
  let started = 0;
  const req: TransferRequest = {
    source,
    destination,
    force,
    clusterBase: host.place.cellsDir,
    localBase: host.place.localDir,
    onProgress: (done, total) => {
      started ||= Date.now();
      const pct = total ? Math.floor((done / total) * 100) : 100;
      const secs = (Date.now() - started) / 1000;
      const rate = secs > 0.2 ? `, ${megabytes(done / secs)}/s` : "";
      show(
        `${name === "upload" ? "⇡" : "⇣"} ${source} ${arrow}: ${megabytes(done)} of ${megabytes(total)} (${pct}%)${rate}`,
      );
    },
  };
  let result: TransferResult;
  try {
    result = await (name === "upload" ? host.env.transfers.upload(req) : host.env.transfers.download(req));
  } catch (err) {
    show(`✖ %${name} ${source}: not copied`);
    throw err;
  }
  show(
    `✓ ${result.source} → ${result.destination} (${megabytes(result.bytes)}, ${result.seconds.toFixed(1)} s, sha256 ${result.sha256.slice(0, 12)}… checked on both sides)`,
  );
}
