/**
 * Opens one authenticated ssh2 connection to a host resolved from ~/.ssh/config: ProxyJump hops,
 * the host key checked against known_hosts, then the SSH agent, key files (asking for an
 * encrypted key's passphrase) and keyboard-interactive (password, then Duo's passcode, one prompt
 * per round, each answered by its text).
 */
import { existsSync, readFileSync } from "node:fs";
import type { Duplex } from "node:stream";
import { Client, utils, type AuthenticationType, type ConnectConfig } from "ssh2";
import { ClusterError, errorMessage } from "../errors";
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  parseHostKeyBlob,
} from "./known-hosts";
import type { Prompter } from "./prompts";
import type { ResolvedHost } from "./ssh-host-config";

export type HostKeyPolicy = "strict" | "accept-new";

export interface ConnectOptions {
  prompter: Prompter;
  /** Overrides StrictHostKeyChecking from ~/.ssh/config. */
  hostKeyPolicy?: HostKeyPolicy;
  agent?: string;
  readyTimeoutMs?: number;
  log?: (message: string) => void;
}

export class SshError extends ClusterError {}

function describeTarget(h: ResolvedHost): string {
  return `${h.user}@${h.hostName}${h.port !== 22 ? `:${h.port}` : ""}`;
}

interface HostKeyVerdict {
  error?: SshError;
  /** accept-new: the known_hosts line to record once the server proved it holds the key (ready). */
  record?: { file: string; line: string };
}

function hostVerifier(host: ResolvedHost, opts: ConnectOptions, verdict: HostKeyVerdict) {
  const policy: HostKeyPolicy =
    opts.hostKeyPolicy ??
    (host.strictHostKeyChecking === "accept-new" || host.strictHostKeyChecking === "no"
      ? "accept-new"
      : "strict");
  // ssh files a HostKeyAlias without a port (port 22's spelling), whatever port it connects to.
  const name = host.hostKeyAlias ?? host.hostName;
  const port = host.hostKeyAlias ? 22 : host.port;
  return (blob: Buffer): boolean => {
    let key;
    try {
      key = parseHostKeyBlob(blob);
    } catch (err) {
      verdict.error = new SshError(
        "BAD_HOST_KEY",
        `the server sent an unreadable host key: ${errorMessage(err)}`,
      );
      return false;
    }
    const result = checkHostKey(host.userKnownHostsFiles, name, port, key);
    const fp = fingerprintSha256(blob);
    const where = port === 22 ? name : `[${name}]:${port}`;
    switch (result.status) {
      case "match":
        return true;
      case "unknown":
        if (policy === "accept-new") {
          const file = host.userKnownHostsFiles[0];
          if (file)
            verdict.record = { file, line: formatKnownHostsLine(name, host.port, key, { hash: false }) };
          opts.log?.(`accepting the new host key of ${where} (${key.type} ${fp})`);
          return true;
        }
        verdict.error = new SshError(
          "UNKNOWN_HOST_KEY",
          `the host key of ${where} is not in your known_hosts (${host.userKnownHostsFiles.join(", ")}).\n` +
            `Its ${key.type} fingerprint is ${fp}. If that is the host's real key (compare with your site's published fingerprints), ` +
            `accept it with \`ssh -p ${host.port} ${describeTarget(host)}\` once, or set cluster.host_key_policy: accept-new.`,
        );
        return false;
      case "changed":
      case "revoked":
        verdict.error = new SshError(
          "CHANGED_HOST_KEY",
          `WARNING: the host key of ${where} has ${result.status === "revoked" ? "been REVOKED" : "CHANGED"} ` +
            `(now ${key.type} ${fp}; known_hosts ${result.file ?? ""}${result.line ? `:${result.line}` : ""} says otherwise). ` +
            "Someone could be intercepting the connection, or the host was reinstalled. Nothing was sent. " +
            "Check with your site; if the change is genuine, remove the old entry with `ssh-keygen -R` and connect again.",
        );
        return false;
    }
  };
}

type AuthAttempt = { type: "agent" } | { type: "publickey"; file: string } | { type: "keyboard-interactive" };

async function loadKey(
  file: string,
  host: ResolvedHost,
  prompter: Prompter,
): Promise<ReturnType<typeof utils.parseKey> | undefined> {
  const data = readFileSync(file);
  let parsed = utils.parseKey(data);
  for (
    let tries = 0;
    parsed instanceof Error && /encrypted|passphrase/i.test(parsed.message) && tries < 3;
    tries++
  ) {
    const [passphrase = ""] = await prompter.ask({
      kind: "passphrase",
      target: describeTarget(host),
      name: "key passphrase",
      instructions: tries ? "That passphrase did not decrypt the key." : "",
      prompts: [{ prompt: `Passphrase for ${file}: `, echo: false }],
    });
    parsed = utils.parseKey(data, passphrase);
  }
  if (parsed instanceof Error) throw new SshError("BAD_KEY", `cannot use the key ${file}: ${parsed.message}`);
  return parsed;
}

/** ssh2's authHandler: agent, then keys, then keyboard-interactive, as the server allows. */
interface AuthState {
  tried: Set<string>;
  /** A prompt nobody answered, or a key that could not be used: the real reason behind "auth failed". */
  failure?: unknown;
}

function authHandler(host: ResolvedHost, opts: ConnectOptions, state: AuthState) {
  const attempts: AuthAttempt[] = [];
  if (opts.agent && !host.identitiesOnly) attempts.push({ type: "agent" });
  for (const file of host.identityFiles) if (existsSync(file)) attempts.push({ type: "publickey", file });
  attempts.push({ type: "keyboard-interactive" });
  return (
    methodsLeft: AuthenticationType[] | null,
    _partial: boolean | null,
    next: (auth: unknown) => void,
  ): void => {
    const pick = async (): Promise<unknown> => {
      for (let a = attempts.shift(); a; a = attempts.shift()) {
        const allowed = !methodsLeft || methodsLeft.includes(a.type === "agent" ? "publickey" : a.type);
        if (!allowed) continue;
        state.tried.add(a.type);
        if (a.type === "agent") return { type: "agent", username: host.user, agent: opts.agent };
        if (a.type === "publickey") {
          const key = await loadKey(a.file, host, opts.prompter);
          if (key) return { type: "publickey", username: host.user, key };
          continue;
        }
        return {
          type: "keyboard-interactive",
          username: host.user,
          prompt: (
            name: string,
            instructions: string,
            _lang: string,
            prompts: { prompt: string; echo?: boolean }[],
            finish: (answers: string[]) => void,
          ) => {
            if (prompts.length === 0) return finish([]);
            // A prompt of this login already went unanswered (timeout, cancel): the login fails
            // anyway, so do not put its next question (Duo's passcode) to the person as well.
            if (state.failure) return finish(prompts.map(() => ""));
            opts.prompter
              .ask({
                kind: "keyboard-interactive",
                target: describeTarget(host),
                name,
                instructions,
                prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })),
              })
              .then(finish, (err: unknown) => {
                state.failure = err;
                finish(prompts.map(() => "")); // an empty answer fails this round: the error below explains
              });
          },
        };
      }
      return false;
    };
    pick().then(next, (err: unknown) => {
      state.failure = err;
      next(false);
    });
  };
}

function connectOnce(host: ResolvedHost, opts: ConnectOptions, sock?: Duplex): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const verdict: HostKeyVerdict = {};
    const state: AuthState = { tried: new Set() };
    const config: ConnectConfig = {
      host: host.hostName,
      port: host.port,
      username: host.user,
      sock,
      readyTimeout: opts.readyTimeoutMs ?? 30_000,
      keepaliveInterval: (host.serverAliveIntervalSeconds ?? 15) * 1000,
      keepaliveCountMax: host.serverAliveCountMax ?? 3,
      hostVerifier: hostVerifier(host, opts, verdict),
      authHandler: authHandler(host, opts, state) as unknown as ConnectConfig["authHandler"],
    };
    client.once("ready", () => {
      const rec = verdict.record;
      if (!rec) return resolve(client);
      appendKnownHost(rec.file, rec.line).then(
        () => resolve(client),
        (err: unknown) => {
          client.end();
          reject(err); // appendKnownHost's KNOWN_HOSTS_WRITE_FAILED names the file and why
        },
      );
    });
    client.once("error", (err: Error & { level?: string }) => {
      client.end();
      if (verdict.error) return reject(verdict.error);
      if (state.failure) return reject(state.failure);
      if (err.level === "client-authentication") {
        const kbd = state.tried.has("keyboard-interactive");
        return reject(
          new SshError(
            "AUTH_FAILED",
            `${describeTarget(host)} refused the login${kbd ? ": the password or passcode was not accepted (a Duo passcode is valid once, for about 30 s)" : ""}` +
              ` (tried ${[...state.tried].join(", ") || "nothing the server accepts"}). Run \`alpine-kernel login\` to try again.`,
          ),
        );
      }
      const code = (err as NodeJS.ErrnoException).code;
      reject(
        new SshError(
          "CONNECT_FAILED",
          `cannot reach ${describeTarget(host)}: ${code === "ENOTFOUND" ? "unknown host name" : code === "ECONNREFUSED" ? "connection refused" : errorMessage(err)}`,
        ),
      );
    });
    client.connect(config);
  });
}

function forward(via: Client, host: ResolvedHost): Promise<Duplex> {
  return new Promise((resolve, reject) =>
    via.forwardOut("127.0.0.1", 0, host.hostName, host.port, (err, stream) =>
      err
        ? reject(
            new SshError(
              "CONNECT_FAILED",
              `the jump host cannot reach ${host.hostName}:${host.port}: ${err.message}`,
            ),
          )
        : resolve(stream),
    ),
  );
}

/** The authenticated connection, through the ProxyJump hops if any (each hop authenticated too). */
export async function connectSsh(
  host: ResolvedHost,
  opts: ConnectOptions,
): Promise<{ client: Client; hops: Client[] }> {
  const hops: Client[] = [];
  let sock: Duplex | undefined;
  try {
    for (const hop of host.proxyJump ?? []) {
      const c = await connectOnce(hop, opts, sock);
      hops.push(c);
      sock = undefined;
      const nextTarget = host.proxyJump![hops.length] ?? host;
      sock = await forward(c, nextTarget);
    }
    const client = await connectOnce(host, opts, sock);
    return { client, hops };
  } catch (err) {
    for (const h of hops) h.end();
    throw err;
  }
}
