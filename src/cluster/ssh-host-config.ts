/**
 * What `ssh ALIAS` would use to connect, read from OpenSSH's client config (ssh_config(5)): the
 * `ssh-config` package evaluates the Host blocks (first value wins, IdentityFile accumulates); this
 * file adds defaults, token expansion, value checks, ProxyJump hops and Include.
 *
 * Limits: Match blocks are evaluated by `ssh-config` (host/user/all, never `exec`) and an Include
 * inside a Match block other than `Match all` is skipped. ProxyCommand is not read. Host patterns
 * are matched by `ssh-config`: case-sensitively (as ssh does), but its `?` also matches nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { homedir, hostname, userInfo } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { glob as hostGlob, parse as parseSshConfig } from "ssh-config";
import { InputError, errorMessage } from "../errors";

/** Where to read the config and what the command line would override (`ssh -l user -p port`). */
export interface ResolveSshHostOptions {
  /** Config text to use instead of reading a file (then `configPath`, if given, only names it). */
  configText?: string;
  /** Default `~/.ssh/config`; a missing file is an empty config. */
  configPath?: string;
  user?: string;
  port?: number;
}

/** One host as ssh would reach it; see ssh_config(5) for each keyword. */
export interface ResolvedHost {
  /** The name asked for (the Host pattern target). */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** Expanded paths, in order; the defaults when the config names none. Missing files are the caller's to skip. */
  identityFiles: string[];
  /** IdentityFile came from the config (false: the defaults id_ed25519, id_ecdsa, id_rsa). */
  explicitIdentity: boolean;
  /** Hosts to hop through, first to last; only the first may have hops of its own (as with ssh -J). */
  proxyJump?: ResolvedHost[];
  serverAliveIntervalSeconds?: number;
  serverAliveCountMax?: number;
  userKnownHostsFiles: string[];
  /** "ask" is the default; a program cannot ask, so treat it as "yes". */
  strictHostKeyChecking: "yes" | "accept-new" | "no" | "ask";
  identitiesOnly: boolean;
  /** Look the host key up under this name (with port 22) instead of hostName:port. */
  hostKeyAlias?: string;
}

interface Source {
  label: string;
  text: string;
  includes: Map<string, string>;
}
interface Overrides {
  user?: string;
  port?: number;
  proxyJump: boolean;
}

const MAX_HOPS = 8;
const MAX_INCLUDE_DEPTH = 16; // OpenSSH's READCONF_MAX_DEPTH
const DEFAULT_IDENTITIES = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"];
const DEFAULT_KNOWN_HOSTS = ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"];
const STRICT = new Map<string, ResolvedHost["strictHostKeyChecking"]>([
  ["yes", "yes"],
  ["true", "yes"],
  ["no", "no"],
  ["false", "no"],
  ["off", "no"],
  ["ask", "ask"],
  ["accept-new", "accept-new"],
]);
const FLAG = new Map([
  ["yes", true],
  ["true", true],
  ["no", false],
  ["false", false],
]);
/** What each keyword's value should have been, for error messages. */
const EXPECTED: Record<string, string> = {
  port: "a port number (1-65535)",
  hostname: "a host name (%h is the only token)",
  identityfile: "a path with known %-tokens",
  userknownhostsfile: "a list of paths with known %-tokens",
  serveraliveinterval: "a time (30, 1m30s)",
  serveralivecountmax: "a whole number",
  stricthostkeychecking: "yes, accept-new, no or ask",
  identitiesonly: "yes or no",
  proxyjump: "a list of [user@]host[:port]",
};

/**
 * Resolves `alias` the way `ssh alias` would. Throws InputError BAD_SSH_CONFIG (the message names
 * the file, the Host block and the keyword) for values ssh would refuse, SSH_CONFIG_UNREADABLE
 * when the file exists but cannot be read, BAD_SSH_OPTION for a bad `opts.port`.
 */
export function resolveSshHost(alias: string, opts: ResolveSshHostOptions = {}): ResolvedHost {
  if (opts.port !== undefined && !validPort(opts.port)) {
    throw new InputError("BAD_SSH_OPTION", `port ${opts.port} is not a port number (1-65535)`);
  }
  const path = opts.configPath ?? join(home(), ".ssh", "config");
  const text = opts.configText ?? readOptional(path);
  const label = opts.configText !== undefined && opts.configPath === undefined ? "the ssh config text" : path;
  return resolve(
    { label, text, includes: new Map() },
    alias,
    { user: opts.user, port: opts.port, proxyJump: true },
    0,
  );
}

function resolve(source: Source, alias: string, overrides: Overrides, depth: number): ResolvedHost {
  const r = readConfig(source, alias, overrides.user);
  const configPort = r.parse("port", 22, (v) =>
    /^\d+$/.test(v) && validPort(Number(v)) ? Number(v) : undefined,
  );
  const hostName = expandTokens(r.one("hostname") ?? alias, { h: alias }, () => r.bad("hostname"));
  const port = overrides.port ?? configPort;
  const user = overrides.user ?? r.one("user") ?? localUser();
  const hostKeyAlias = r.one("hostkeyalias");
  // ssh_config(5) TOKENS that are cheap to know here (not %C, %j, %L, %T)
  const tokens: Record<string, string> = {
    ...{ d: home(), u: localUser(), l: hostname(), i: String(process.getuid?.() ?? "") }, // this machine
    ...{ h: hostName, r: user, p: String(port), n: alias, k: hostKeyAlias ?? alias }, // the remote end
  };
  const paths = (keyword: string, names: string[]): string[] => [
    ...new Set(names.map((n) => expandTokens(expandTilde(n), tokens, () => r.bad(keyword, n)))),
  ];
  const identities = r.list("identityfile");
  const knownHosts = r.list("userknownhostsfile");
  const interval = r.parse("serveraliveinterval", undefined, parseSeconds);
  const countMax = r.parse("serveralivecountmax", undefined, (v) =>
    /^\d+$/.test(v) ? Number(v) : undefined,
  );
  const jump = overrides.proxyJump ? r.one("proxyjump") : undefined;
  const resolved: ResolvedHost = {
    alias,
    hostName,
    port,
    user,
    identityFiles: paths("identityfile", identities.length > 0 ? identities : DEFAULT_IDENTITIES),
    explicitIdentity: identities.length > 0,
    userKnownHostsFiles:
      knownHosts.length === 1 && knownHosts[0]?.toLowerCase() === "none"
        ? []
        : paths("userknownhostsfile", knownHosts.length > 0 ? knownHosts : DEFAULT_KNOWN_HOSTS),
    strictHostKeyChecking: r.parse("stricthostkeychecking", "ask", (v) => STRICT.get(v.toLowerCase())),
    identitiesOnly: r.parse("identitiesonly", false, (v) => FLAG.get(v.toLowerCase())),
    ...(interval !== undefined && { serverAliveIntervalSeconds: interval }),
    ...(countMax !== undefined && { serverAliveCountMax: countMax }),
    ...(hostKeyAlias !== undefined && { hostKeyAlias }),
  };
  if (jump !== undefined && jump.toLowerCase() !== "none") {
    if (depth >= MAX_HOPS)
      throw r.bad("proxyjump", jump, `a chain of at most ${MAX_HOPS} hops (is there a loop?)`);
    resolved.proxyJump = jump.split(",").map((spec, i) => {
      const hop = parseJumpHop(spec) ?? throwError(r.bad("proxyjump"));
      return resolve(source, hop.host, { ...hop, proxyJump: i === 0 }, depth + 1);
    });
  }
  return resolved;
}

interface ConfigReader {
  one(keyword: string): string | undefined;
  list(keyword: string): string[];
  /** The value of `keyword` converted, `fallback` when unset; throws `bad` when `convert` gives undefined. */
  parse<T>(keyword: string, fallback: T, convert: (value: string) => T | undefined): T;
  /** The error for the value of `keyword` (the message names the file, the Host block, the keyword). */
  bad(keyword: string, value?: string, expected?: string): InputError;
}

/** Evaluates the config for `alias` (Host blocks in order, first value wins) and reads values out. */
function readConfig(source: Source, alias: string, user: string | undefined): ConfigReader {
  let included = false;
  const text = expandIncludes(source, source.text, alias, 0, () => (included = true));
  let config: ReturnType<typeof parseSshConfig>;
  try {
    config = parseSshConfig(text);
  } catch (err) {
    throw new InputError("BAD_SSH_CONFIG", `${source.label}: ${errorMessage(err)}`, { cause: err });
  }
  const values = config.compute({ Host: alias, User: user }, { ignoreCase: true, matchExec: false });
  const list = (keyword: string): string[] => [values[keyword] ?? []].flat();
  const reader: ConfigReader = {
    one: (keyword) => list(keyword)[0],
    list,
    parse(keyword, fallback, convert) {
      const value = list(keyword)[0];
      if (value === undefined) return fallback;
      return convert(value) ?? throwError(reader.bad(keyword));
    },
    bad(keyword, value = list(keyword).join(" "), expected = EXPECTED[keyword] ?? "valid") {
      const found = locate(config, alias, keyword);
      const file = included ? `${source.label} (or a file it includes)` : source.label;
      const where = `${file}, ${found?.block ?? "a Match block"}`;
      return new InputError(
        "BAD_SSH_CONFIG",
        `${where}: ${found?.param ?? keyword} ${JSON.stringify(value)} is not ${expected}`,
      );
    },
  };
  return reader;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`; `[v6addr]:port` brackets an IPv6 address. */
function parseJumpHop(spec: string): { host: string; user?: string; port?: number } | undefined {
  const rest = /^ssh:\/\//i.test(spec) ? spec.slice(6).replace(/\/$/, "") : spec;
  const m = /^(?:([^@\s]+)@)?(?:\[([^\]\s]+)\]|([^:@/\s[\]]+))(?::(\d+))?$/.exec(rest);
  const host = m?.[2] ?? m?.[3];
  if (!m || !host) return undefined;
  const port = m[4] === undefined ? undefined : Number(m[4]);
  if (port !== undefined && !validPort(port)) return undefined;
  return { host, ...(m[1] !== undefined && { user: m[1] }), ...(port !== undefined && { port }) };
}

/**
 * Splices the files of each Include (outside Host/Match blocks that do not apply to `alias`) into
 * the text, then reopens with `Host *`: OpenSSH restores the enclosing block's state after an
 * included file, and that block was active. Relative paths are under ~/.ssh; `*`/`?` work in the
 * file name.
 */
function expandIncludes(
  source: Source,
  text: string,
  alias: string,
  depth: number,
  onInclude: () => void,
): string {
  if (depth > MAX_INCLUDE_DEPTH)
    throw new InputError("BAD_SSH_CONFIG", `${source.label}: Include nested too deeply`);
  const out: string[] = [];
  let active = true;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z]+)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    const keyword = m?.[1]?.toLowerCase();
    const args = (m?.[2] ?? "")
      .replace(/(^|\s)#.*$/, "")
      .replace(/"/g, "")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (keyword === "host") active = hostGlob(args, alias);
    if (keyword === "match") active = args.length === 1 && args[0]?.toLowerCase() === "all";
    if (keyword !== "include") {
      out.push(line);
    } else if (active) {
      onInclude();
      for (const file of args.flatMap(includeFiles)) {
        const included = source.includes.get(file) ?? readOptional(file);
        source.includes.set(file, included);
        out.push(expandIncludes(source, included, alias, depth + 1, onInclude), "Host *");
      }
    }
  }
  return out.join("\n");
}

function includeFiles(pattern: string): string[] {
  const expanded = expandTilde(pattern);
  const path = isAbsolute(expanded) ? expanded : join(home(), ".ssh", expanded);
  const name = basename(path);
  if (!/[*?]/.test(name)) return [path];
  const re = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  try {
    return readdirSync(dirname(path))
      .filter((entry) => re.test(entry))
      .sort()
      .map((entry) => join(dirname(path), entry));
  } catch {
    return [];
  }
}

/** Which Host block (and spelling of the keyword) gave `keyword` its first value. */
function locate(
  config: ReturnType<typeof parseSshConfig>,
  alias: string,
  keyword: string,
): { block: string; param: string } | undefined {
  for (const line of config) {
    if (!("param" in line)) continue;
    if (!("config" in line)) {
      if (line.param.toLowerCase() === keyword) return { block: "before any Host block", param: line.param };
      continue;
    }
    const patterns = typeof line.value === "string" ? [line.value] : line.value.map((v) => v.val);
    if (!/^host$/i.test(line.param) || !hostGlob(patterns, alias)) continue;
    const hit = line.config.find((sub) => "param" in sub && sub.param.toLowerCase() === keyword);
    if (hit && "param" in hit) return { block: `Host ${patterns.join(" ")}`, param: hit.param };
  }
  return undefined;
}

/** OpenSSH's time format: seconds, or a sequence like 1h30m (s, m, h, d, w). */
function parseSeconds(text: string): number | undefined {
  if (!/^(\d+[smhdw]?)+$/i.test(text)) return undefined;
  const unit: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const [, n, u] of text.toLowerCase().matchAll(/(\d+)([smhdw]?)/g))
    total += Number(n) * (unit[u ?? ""] ?? 1);
  return total;
}

function expandTokens(text: string, tokens: Record<string, string>, onUnknown: () => Error): string {
  return text.replace(/%(.)/g, (_, t: string) => (t === "%" ? "%" : (tokens[t] ?? throwError(onUnknown()))));
}

function expandTilde(path: string): string {
  return path === "~" || path.startsWith("~/") ? home() + path.slice(1) : path;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "";
    throw new InputError("SSH_CONFIG_UNREADABLE", `cannot read ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** os.homedir() also starts from $HOME; reading it here lets a test (whose process.env is its own) move it. */
function home(): string {
  return process.env.HOME || homedir();
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? "";
  }
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function throwError(err: Error): never {
  throw err;
}
