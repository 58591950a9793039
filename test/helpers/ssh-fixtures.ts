/**
 * The SSH fixtures of test/fixtures/ssh/ (README.md there) and what each case expects of them,
 * shared by the unit tests (our parsers alone) and the integration tests that ask OpenSSH itself
 * (`ssh -G`, `ssh-keygen -F/-lf`) the same questions.
 */
import { readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import type { HostKey, HostKeyCheck } from "../../src/cluster/known-hosts";
import type { ResolvedHost, ResolveSshHostOptions } from "../../src/cluster/ssh-host-config";

export const FIXTURES = join(__dirname, "..", "fixtures", "ssh");

// ---------------------------------------------------------------- known_hosts

export const PLAIN = join(FIXTURES, "known_hosts");
export const HASHED = join(FIXTURES, "known_hosts.hashed");
/** Lines 15-17 of the plain file are malformed on purpose (bad marker, bad base64, type mismatch). */
export const FIRST_MALFORMED_LINE = 15;

function pubKey(file: string): HostKey {
  const [type = "", base64 = ""] = readFileSync(join(FIXTURES, file), "utf8").split(" ");
  return { type, data: Buffer.from(base64, "base64") };
}
export const key = (name: string): HostKey => pubKey(`keys/${name}.pub`);
/** The test cluster's sshd host key. */
export const REAL = pubKey("test-cluster/ssh_host_ed25519_key.pub");
export const REAL_PUB = join(FIXTURES, "test-cluster", "ssh_host_ed25519_key.pub");
export const ED = "ssh-ed25519";
export const EC = "ecdsa-sha2-nistp256";
export const RSA = "ssh-rsa";

export type Expect = [HostKeyCheck["status"], number?];
const K = {
  ed: key("alpine-ed25519"),
  edNew: key("alpine-ed25519-new"),
  ecdsa: key("alpine-ecdsa"),
  rsa: key("alpine-rsa"),
  node: key("node-ecdsa384"),
  bastion: key("bastion-ed25519"),
  revoked: key("revoked-ed25519"),
  ca: key("ca-ed25519"),
};
const LOGIN = "login.rc.colorado.edu";
const ALL = [ED, EC, RSA];
const NODE = ["ecdsa-sha2-nistp384"];
/** what, host, port, presented key, knownTypes, verdict on the plain file, on the hashed file */
export const KNOWN_HOSTS_CASES: [string, string, number, HostKey, string[], Expect, Expect][] = [
  ["first host of a comma list", LOGIN, 22, K.ed, ALL, ["match", 3], ["match", 3]],
  ["second host of a list", "login-ci1.rc.colorado.edu", 22, K.ed, [ED, RSA], ["match", 3], ["match", 4]],
  ["an ecdsa line", LOGIN, 22, K.ecdsa, ALL, ["match", 4], ["match", 5]],
  ["a * pattern", LOGIN, 22, K.rsa, ALL, ["match", 5], ["match", 6]],
  ["same type, other key", LOGIN, 22, K.edNew, ALL, ["changed", 3], ["changed", 3]],
  ["only other types known", "login-ci2.rc.colorado.edu", 22, K.ed, [RSA], ["unknown"], ["unknown"]],
  ["!negation beats the *", "login-ci9.rc.colorado.edu", 22, K.rsa, [], ["unknown"], ["unknown"]],
  ["[host]:port", LOGIN, 2222, K.bastion, [ED], ["match", 6], ["match", 7]],
  ["[host]:port, port-22 key", LOGIN, 2222, K.ed, [ED], ["changed", 6], ["changed", 7]],
  ["the test cluster's sshd", "127.0.0.1", 2222, REAL, [ED], ["match", 8], ["match", 9]],
  ["port 22 is another name", "127.0.0.1", 22, REAL, [], ["unknown"], ["unknown"]],
  ["? is one character", "node-01.example.org", 22, K.node, NODE, ["match", 9], ["match", 10]],
  ["? is not zero characters", "node-1.example.org", 22, K.node, [], ["unknown"], ["unknown"]],
  ["? is not two characters", "node-001.example.org", 22, K.node, [], ["unknown"], ["unknown"]],
  ["uppercase query", "LOGIN.rc.colorado.edu", 22, K.ed, ALL, ["match", 3], ["match", 3]],
  // ssh-keygen -H lowercases "MiXeD.Example.ORG" before hashing, as ssh lowercases the host it looks up.
  ["mixed-case pattern", "mixed.example.org", 22, K.bastion, [ED], ["match", 10], ["match", 11]],
  ["@revoked wins", "legacy.rc.colorado.edu", 22, K.revoked, [RSA, ED], ["revoked", 12], ["revoked", 13]],
  ["@revoked * for any host", "nowhere.example.net", 2200, K.revoked, [], ["revoked", 12], ["revoked", 13]],
  ["@cert-authority is ignored", "ca.example.org", 22, K.ca, [], ["unknown"], ["unknown"]],
  ["unknown marker skipped", "bogus.example.org", 22, K.ed, [], ["unknown"], ["unknown"]],
  ["bad base64 skipped", "broken.example.org", 22, K.ed, [], ["unknown"], ["unknown"]],
  ["type name not the blob's", "mismatch.example.org", 22, K.ed, [], ["unknown"], ["unknown"]],
  ["only !patterns never match", "only-negated.example.org", 22, K.ed, [], ["unknown"], ["unknown"]],
];

/** Each host:port the cases ask about, once, lowercased (as ssh looks it up). */
export const KNOWN_HOSTS_QUERIES: [string, number][] = [
  ...new Map(
    KNOWN_HOSTS_CASES.map(([, h, p]) => [`${h}:${p}`, [h.toLowerCase(), p] as [string, number]]),
  ).values(),
];

// ---------------------------------------------------------------- ssh config

export const CONFIG = join(FIXTURES, "config");
export const CLUSTER_CONFIG = join(FIXTURES, "test-cluster", "config");
const HOME = homedir();
export const ME = userInfo().username;
export const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"].map((f) => join(HOME, ".ssh", f));
const DEFAULT_KNOWN_HOSTS = [join(HOME, ".ssh", "known_hosts"), join(HOME, ".ssh", "known_hosts2")];

/** What the fixture gives a host no block names (its `Host *` lines apply). */
export function host(alias: string, patch: Partial<ResolvedHost> = {}): ResolvedHost {
  return {
    alias,
    hostName: alias,
    port: 22,
    user: ME,
    identityFiles: DEFAULT_IDENTITIES,
    explicitIdentity: false,
    userKnownHostsFiles: DEFAULT_KNOWN_HOSTS,
    strictHostKeyChecking: "no",
    identitiesOnly: false,
    serverAliveIntervalSeconds: 30,
    serverAliveCountMax: 4,
    ...patch,
  };
}
const ciIdentity = (user: string, port: number) =>
  join(HOME, ".ssh", `id_${ME}_${user}@login-ci.rc.colorado.edu:${port}_alpine-ci_100%`);
const ci = (user: string, port: number): Partial<ResolvedHost> => ({
  hostName: "login-ci.rc.colorado.edu",
  port,
  user,
  identityFiles: [ciIdentity(user, port), join(HOME, ".ssh", "curc key"), join(HOME, ".ssh", "curc_ed25519")],
  explicitIdentity: true,
  identitiesOnly: true,
  userKnownHostsFiles: [join(HOME, ".ssh", "known_hosts.d", "curc-ci"), "/etc/ssh/curc_known_hosts"],
  strictHostKeyChecking: "accept-new",
  hostKeyAlias: "curc-ci",
});

/** alias, options, what resolveSshHost makes of it with the fixture `config` */
export const SSH_CONFIG_CASES: [string, ResolveSshHostOptions, ResolvedHost][] = [
  [
    "alpine",
    {},
    host("alpine", { hostName: "login.rc.colorado.edu", user: "ralphie", serverAliveIntervalSeconds: 90 }),
  ],
  ["alpine-ci", {}, host("alpine-ci", ci(ME, 2222))],
  ["alpine-ci", { user: "other", port: 2022 }, host("alpine-ci", ci("other", 2022))],
  ["somewhere", {}, host("somewhere")],
  ["login.rc.colorado.edu", {}, host("login.rc.colorado.edu", { strictHostKeyChecking: "yes" })],
  ["login-ci.rc.colorado.edu", {}, host("login-ci.rc.colorado.edu")],
  ["outer.example.org", {}, host("outer.example.org", { serverAliveCountMax: undefined })],
  [
    "anschutz",
    {},
    host("anschutz", {
      hostName: "login.rc.colorado.edu",
      user: "ralphie@ucdenver.edu",
      proxyJump: [
        host("bastion.ucdenver.edu", {
          user: "jump",
          port: 2200,
          identityFiles: [join(HOME, ".ssh", "bastion_ed25519")],
          explicitIdentity: true,
          proxyJump: [host("outer", { hostName: "outer.example.net" })],
        }),
        host("gateway", { hostName: "gw.rc.colorado.edu" }), // its own ProxyJump is not used after the first hop
      ],
    }),
  ],
  ["v6", {}, host("v6", { proxyJump: [host("2001:db8::1", { user: "ops", port: 2022 })] })],
];
