/**
 * `alpine-kernel open`: the standalone queue page — every cell job of every notebook, live — for
 * people outside JupyterLab. Prints its address (with the server's token, which the page needs)
 * and opens it in the browser when this machine has a desktop. Starts the server if none runs.
 */
import { spawn } from "node:child_process";
import { ensureServer } from "../kernel/server-connection";

/** The desktop's opener, when there is a desktop to open a browser on. */
function opener(): string | undefined {
  if (process.platform === "darwin") return "open";
  if (process.platform === "linux" && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) return "xdg-open";
  return undefined;
}

export async function openCommand(opts: { print: boolean }): Promise<number> {
  const info = await ensureServer();
  const url = `${info.url}/queue?token=${encodeURIComponent(info.token)}`;
  console.log(url);
  const cmd = opts.print ? undefined : opener();
  if (cmd) {
    const child = spawn(cmd, [url], { stdio: "ignore", detached: true });
    child.on("error", () => console.error(`could not run ${cmd}: open the address above in a browser`));
    child.unref();
  } else if (!opts.print) {
    console.error(
      `Open the address above in a browser on this machine (it listens on 127.0.0.1 only). From another machine: ssh -L ${info.port}:127.0.0.1:${info.port} <this host>, then open it there. The address holds your token: keep it to yourself.`,
    );
  }
  return 0;
}
