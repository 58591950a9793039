/**
 * `alpine-kernel login` / `logout`: the server holds the one connection to the cluster; login asks
 * it to connect and answers its prompts (password, Duo passcode or option, key passphrase) here.
 */
import { InputError } from "../errors";
import { authHeaders, ensureServer } from "../kernel/server-connection";
import type { RuntimeInfo } from "../config/runtime-file";
import type { ConnectionView, PromptAnswerResult } from "../server/api-types";
import { askOnTerminal } from "./terminal-prompt";

/** A request to the server's /api/connection routes; 409 (a prompt answered already) is an answer too. */
async function call<T = ConnectionView>(
  info: RuntimeInfo,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${info.url}${path}`, {
    method,
    headers: { ...authHeaders(info), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok && res.status !== 409 && res.status !== 202)
    throw new Error(`the server answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

export async function loginCommand(opts: { timeoutSeconds: number }): Promise<number> {
  const info = await ensureServer();
  const said = await connect(info, opts.timeoutSeconds);
  console.log(said);
  return 0;
}

/**
 * Makes the server connect to the cluster, answering its login prompts (password, Duo) on this
 * terminal; resolves with a sentence saying how it went. Used by every command that needs the cluster.
 */
export async function connect(info: RuntimeInfo, timeoutSeconds: number): Promise<string> {
  let view = await call(info, "POST", "/api/connection/login");
  if (view.transport !== "ssh")
    return "This server runs cluster commands on this machine (cluster.transport: local): no login needed.";
  if (view.state.status === "connected" && view.prompts.length === 0)
    return `✓ connected to ${view.state.target} (logins since the server started: ${view.state.logins})`;
  process.stderr.write(`Connecting to ${view.state.target} …\n`);
  const answered = new Set<string>();
  const deadline = Date.now() + timeoutSeconds * 1000;
  const t0 = Date.now();
  let sawConnecting = false;
  while (Date.now() < deadline) {
    if (view.state.status === "connecting") sawConnecting = true;
    const prompt = view.prompts.find((p) => !answered.has(p.id));
    if (prompt) {
      answered.add(prompt.id);
      if (prompt.request.instructions.trim()) process.stderr.write(`${prompt.request.instructions.trim()}\n`);
      const answers: string[] = [];
      for (const p of prompt.request.prompts) answers.push(await askOnTerminal(p.prompt, !p.echo));
      await call<PromptAnswerResult>(info, "POST", `/api/connection/prompts/${prompt.id}`, { answers });
    } else if (view.state.status === "connected" && view.prompts.length === 0) {
      return `✓ connected to ${view.state.target} in ${((Date.now() - t0) / 1000).toFixed(1)} s (logins since the server started: ${view.state.logins})`;
    } else if (view.state.status === "failed" && (sawConnecting || answered.size > 0)) {
      throw new InputError("LOGIN_FAILED", `login failed: ${view.state.lastError ?? "unknown error"}`);
    }
    view = await call(info, "GET", `/api/connection/prompts?wait=25&since=${view.version}`);
  }
  throw new InputError(
    "LOGIN_TIMEOUT",
    `no connection within ${timeoutSeconds} s (state: ${view.state.status})`,
  );
}

export async function logoutCommand(): Promise<number> {
  const info = await ensureServer();
  const view = await call(info, "POST", "/api/connection/logout");
  console.log(
    view.transport === "ssh"
      ? `logged out of ${view.state.target}; the next cell or \`alpine-kernel login\` connects again`
      : "nothing to log out of (local transport)",
  );
  return 0;
}
