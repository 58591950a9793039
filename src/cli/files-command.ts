/** `alpine-kernel files [NOTEBOOK]`: what a notebook's cells directory on the cluster holds. */
import { authHeaders, ensureServer } from "../kernel/server-connection";
import type { ErrorBody, FilesView } from "../server/api-types";
import { connect } from "./login-command";

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["K", "M", "G", "T"];
  let v = bytes / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`;
}

export async function filesCommand(opts: { notebook?: string; timeoutSeconds: number }): Promise<number> {
  const info = await ensureServer();
  await connect(info, opts.timeoutSeconds);
  const query = opts.notebook ? `?notebook=${encodeURIComponent(opts.notebook)}` : "";
  const res = await fetch(`${info.url}/api/files${query}`, { headers: authHeaders(info) });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({ message: res.statusText }))) as ErrorBody;
    console.error(`alpine-kernel files: ${body.message}`);
    return 1;
  }
  const view = (await res.json()) as FilesView;
  if (view.dir) console.log(view.dir);
  if (view.message) console.log(view.message);
  const width = Math.max(4, ...view.entries.map((e) => e.name.length + (e.directory ? 1 : 0)));
  for (const e of view.entries) {
    const name = e.directory ? `${e.name}/` : e.name;
    console.log(
      `  ${name.padEnd(width)}  ${(e.directory ? "" : size(e.size)).padStart(7)}  ${e.modified.slice(0, 16).replace("T", " ")}`,
    );
  }
  return 0;
}
