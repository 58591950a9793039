/**
 * OpenSSH known_hosts files: decide whether a server's host key is the one we know, fingerprint it,
 * and record a new one (StrictHostKeyChecking accept-new). The format and the matching rules are
 * sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" as OpenSSH's hostfile.c applies them: comma lists of
 * patterns with `*`/`?` and `!negation`, `[host]:port` for ports other than 22, hashed names
 * `|1|salt|hmac`, `@revoked` and `@cert-authority` markers.
 *
 * Limits: `@cert-authority` lines are parsed but never used, because the SSH transport does not
 * accept host certificates yet (ssh2 negotiates plain host keys only). The legacy SSH-1 RSA format
 * (bits, exponent, modulus) is skipped like any malformed line.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { ClusterError, InputError, errorMessage } from "../errors";

/**
 * A public key as SSH sends it: `data` is the whole wire blob (RFC 4253 §6.6: string type name,
 * then type-specific fields), `type` the name at its start (`ssh-ed25519`, `ecdsa-sha2-nistp256`,
 * `ssh-rsa`, …). It is what ssh2's `hostVerifier` receives, parsed with {@link parseHostKeyBlob}.
 */
export interface HostKey {
  type: string;
  data: Buffer;
}

/** known_hosts content that does not come from a file; `name` stands for the path in results. */
export interface KnownHostsText {
  name: string;
  text: string;
}

/** A known_hosts file path (a missing file is empty, as for ssh) or known_hosts text. */
export type KnownHostsSource = string | KnownHostsText;

/** One known_hosts line whose host field matches the host being looked up. */
export interface KnownHostEntry {
  file: string;
  /** 1-based line number. */
  line: number;
  marker?: "revoked" | "cert-authority";
  /** The host field is `|1|salt|hmac` rather than patterns. */
  hashed: boolean;
  key: HostKey;
}

/**
 * The verdict on a server's key. `changed` = the host is known with a different key of the SAME
 * type (OpenSSH's "REMOTE HOST IDENTIFICATION HAS CHANGED"; `file`/`line` name the offending
 * line); a host known only with other key types is `unknown`, with those types in `knownTypes`.
 * `revoked` = an `@revoked` line lists this very key; it wins over any matching line.
 */
export interface HostKeyCheck {
  status: "match" | "unknown" | "changed" | "revoked";
  /** Key types known for this host (plain lines only, first-seen order). */
  knownTypes: string[];
  file?: string;
  line?: number;
}

/**
 * Reads the key type out of an SSH public key blob (what ssh2 passes to `hostVerifier` when no
 * `hostHash` is set). Throws InputError BAD_HOST_KEY when the blob is not one.
 */
export function parseHostKeyBlob(blob: Buffer): HostKey {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const type =
    length > 0 && length <= 64 && 4 + length < blob.length ? blob.toString("latin1", 4, 4 + length) : "";
  if (!/^[\x21-\x7e]+$/.test(type))
    throw new InputError("BAD_HOST_KEY", "the server sent a host key that is not an SSH public key blob");
  return { type, data: blob };
}

/** OpenSSH's `SHA256:…` fingerprint (unpadded base64 of the blob's SHA-256), as `ssh-keygen -l` prints it. */
export function fingerprintSha256(keyData: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyData).digest("base64").replace(/=+$/, "")}`;
}

/**
 * The name a host is filed under: `host` on port 22, else `[host]:port`. With HostKeyAlias, ssh
 * files the alias alone: look it up with port 22.
 */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Every line of `sources`, in order, whose host field matches `host` on `port` (markers included). */
export function lookupKnownHosts(
  sources: readonly KnownHostsSource[],
  host: string,
  port: number,
): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  const found: KnownHostEntry[] = [];
  for (const source of sources) {
    const file = typeof source === "string" ? source : source.name;
    const text = typeof source === "string" ? readKnownHostsFile(source) : source.text;
    text.split("\n").forEach((raw, index) => {
      const entry = parseLine(raw);
      if (entry && hostFieldMatches(entry.hosts, name)) {
        const { marker, key } = entry;
        found.push({
          file,
          line: index + 1,
          ...(marker && { marker }),
          hashed: entry.hosts.startsWith("|"),
          key,
        });
      }
    });
  }
  return found;
}

/**
 * Checks the key a server presented against known_hosts, as ssh does before trusting it.
 * @cert-authority lines are ignored (no certificate support yet), so a host known only through a
 * CA is `unknown`.
 */
export function checkHostKey(
  sources: readonly KnownHostsSource[],
  host: string,
  port: number,
  key: HostKey,
): HostKeyCheck {
  const entries = lookupKnownHosts(sources, host, port);
  const plain = entries.filter((e) => e.marker === undefined);
  const knownTypes = [...new Set(plain.map((e) => e.key.type))];
  const at = (status: HostKeyCheck["status"], e: KnownHostEntry): HostKeyCheck => ({
    status,
    knownTypes,
    file: e.file,
    line: e.line,
  });
  const revoked = entries.find((e) => e.marker === "revoked" && e.key.data.equals(key.data));
  if (revoked) return at("revoked", revoked);
  const same = plain.find((e) => e.key.data.equals(key.data));
  if (same) return at("match", same);
  const changed = plain.find((e) => e.key.type === key.type);
  if (changed) return at("changed", changed);
  return { status: "unknown", knownTypes };
}

/**
 * A known_hosts line (no newline) for `key` on `host`:`port`; `hash: true` files the name as
 * `|1|salt|HMAC-SHA1(salt, name)` like `ssh-keygen -H` / HashKnownHosts.
 */
export function formatKnownHostsLine(
  host: string,
  port: number,
  key: HostKey,
  options: { hash?: boolean } = {},
): string {
  if (!host || /[\s,*?!|#[\]]/.test(host))
    throw new InputError("BAD_HOST", `cannot file ${JSON.stringify(host)} in known_hosts: not a host name`);
  if (parseHostKeyBlob(key.data).type !== key.type)
    throw new InputError("BAD_HOST_KEY", `the key blob is not of type ${key.type}`);
  const name = knownHostsName(host, port);
  const field = options.hash ? hashName(name, randomBytes(20)) : name;
  return `${field} ${key.type} ${key.data.toString("base64")}`;
}

/**
 * Appends `line` to a known_hosts file on a line of its own, creating the directory (0700) and the
 * file (0600) when missing. Call it once the connection is `ready`: ssh2 asks `hostVerifier`
 * BEFORE it has checked the server's signature with that key.
 */
export async function appendKnownHost(file: string, line: string): Promise<void> {
  if (/[\r\n]/.test(line))
    throw new InputError("BAD_KNOWN_HOSTS_LINE", "a known_hosts entry must be one line");
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const handle = await open(file, "a+", 0o600);
    try {
      const { size } = await handle.stat();
      const last = Buffer.alloc(1);
      if (size > 0) await handle.read(last, 0, 1, size - 1);
      await handle.write(`${size > 0 && last[0] !== 0x0a ? "\n" : ""}${line}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new ClusterError(
      "KNOWN_HOSTS_WRITE_FAILED",
      `cannot record the host key in ${file}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

function readKnownHostsFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "";
    throw new ClusterError("KNOWN_HOSTS_UNREADABLE", `cannot read ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

function parseLine(
  raw: string,
): { marker?: KnownHostEntry["marker"]; hosts: string; key: HostKey } | undefined {
  const fields = raw.trim().split(/\s+/);
  let marker: KnownHostEntry["marker"];
  if (fields[0]?.startsWith("@")) {
    const word = fields.shift();
    if (word === "@revoked") marker = "revoked";
    else if (word === "@cert-authority") marker = "cert-authority";
    else return undefined; // unknown marker: ssh skips the line too
  }
  const [hosts, type, base64] = fields;
  if (!hosts || hosts.startsWith("#") || !type || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
    return undefined;
  try {
    const key = parseHostKeyBlob(Buffer.from(base64, "base64"));
    return key.type === type ? { marker, hosts, key } : undefined;
  } catch {
    return undefined;
  }
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|")) {
    const [, version, salt, hash] = field.split("|");
    if (version !== "1" || !salt || !hash) return false;
    const expected = Buffer.from(hash, "base64");
    const actual = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  let matched = false;
  for (const pattern of field.toLowerCase().split(",")) {
    const negated = pattern.startsWith("!");
    if (!wildcardMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false; // a matching negation rejects the line whatever else matches
    matched = true;
  }
  return matched;
}

/** `*` = any run of characters, `?` = exactly one; everything else (brackets too) is literal. */
function wildcardMatch(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "s").test(text);
}

function hashName(name: string, salt: Buffer): string {
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}
