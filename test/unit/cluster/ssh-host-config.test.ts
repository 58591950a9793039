/**
 * resolveSshHost against fixture configs (test/fixtures/ssh/README.md), with OpenSSH's own
 * `ssh -G` (which prints the configuration ssh would use) as the oracle where it prints a field.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import {
  resolveSshHost,
  type ResolvedHost,
  type ResolveSshHostOptions,
} from "../../../src/cluster/ssh-host-config";
import { InputError } from "../../../src/errors";

const FIXTURES = join(__dirname, "..", "..", "fixtures", "ssh");
const CONFIG = join(FIXTURES, "config");
const CLUSTER_CONFIG = join(FIXTURES, "test-cluster", "config");
const HOME = homedir();
const ME = userInfo().username;
const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"].map((f) => join(HOME, ".ssh", f));
const DEFAULT_KNOWN_HOSTS = [join(HOME, ".ssh", "known_hosts"), join(HOME, ".ssh", "known_hosts2")];

/** What the fixture gives a host no block names (its `Host *` lines apply). */
function host(alias: string, patch: Partial<ResolvedHost> = {}): ResolvedHost {
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

const cases: [string, ResolveSshHostOptions, ResolvedHost][] = [
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

describe("resolveSshHost on a CU user's config", () => {
  test.each(cases)("%s %j", (alias, opts, expected) => {
    expect(resolveSshHost(alias, { configPath: CONFIG, ...opts })).toEqual(expected);
  });

  test("the test cluster's config", () => {
    const run = "/tmp/alpine-kernel-test-cluster/run/ssh";
    const common = {
      hostName: "127.0.0.1",
      user: "alpineuser",
      userKnownHostsFiles: [join(run, "known_hosts")],
    };
    const key = {
      identityFiles: [join(run, "client_ed25519")],
      explicitIdentity: true,
      identitiesOnly: true,
    };
    expect(resolveSshHost("alpine-test-key", { configPath: CLUSTER_CONFIG })).toEqual({
      ...host("alpine-test-key", { ...common, ...key, port: 2222, strictHostKeyChecking: "yes" }),
      serverAliveIntervalSeconds: undefined,
      serverAliveCountMax: undefined,
    });
    expect(resolveSshHost("alpine-test-2fa", { configPath: CLUSTER_CONFIG })).toMatchObject({
      ...common,
      port: 2223,
      identityFiles: DEFAULT_IDENTITIES,
      explicitIdentity: false,
      identitiesOnly: false,
    });
  });

  test("no config at all: OpenSSH's defaults", () => {
    const defaults = {
      ...host("alpine"),
      strictHostKeyChecking: "ask",
      serverAliveIntervalSeconds: undefined,
      serverAliveCountMax: undefined,
    };
    expect(resolveSshHost("alpine", { configText: "" })).toEqual(defaults);
    expect(resolveSshHost("alpine", { configPath: join(FIXTURES, "no-such-config") })).toEqual(defaults);
  });

  test("tokens and the odd spellings", () => {
    const text = [
      "Host t",
      "  HostName %h.example.org",
      "  IdentityFile %d/%u/%h/%r/%p/%n/%l/%i/%k/%%",
      "  UserKnownHostsFile none",
      "  ServerAliveInterval 1h2m3",
      "  ServerAliveCountMax 0",
      "  StrictHostKeyChecking OFF",
      "  IdentitiesOnly true",
      "  ProxyJump ssh://gw/,u@[::1],h:1",
    ].join("\n");
    const uid = String(process.getuid?.() ?? "");
    expect(resolveSshHost("t", { configText: text, user: "r", port: 7 })).toMatchObject({
      hostName: "t.example.org",
      identityFiles: [`${HOME}/${ME}/t.example.org/r/7/t/${hostname()}/${uid}/t/%`],
      userKnownHostsFiles: [],
      serverAliveIntervalSeconds: 3723,
      serverAliveCountMax: 0,
      strictHostKeyChecking: "no",
      identitiesOnly: true,
      proxyJump: [{ hostName: "gw" }, { hostName: "::1", user: "u" }, { hostName: "h", port: 1 }],
    });
  });
});

describe("resolveSshHost refuses what ssh would refuse", () => {
  const text = "the ssh config text";
  const cases: [string, string, string][] = [
    ["Host alpine\n  Port abc", "alpine", `${text}, Host alpine: Port "abc" is not a port number`],
    ["Host a b\n  port = 70000", "b", `${text}, Host a b: port "70000" is not a port number`],
    ["Port 0x16\nHost a", "a", `${text}, before any Host block: Port "0x16"`],
    ["Host *\n  ServerAliveInterval soon", "x", `Host *: ServerAliveInterval "soon" is not a time`],
    ["Host x\n  ServerAliveCountMax -1", "x", `Host x: ServerAliveCountMax "-1" is not a whole number`],
    ["Host x\n  StrictHostKeyChecking maybe", "x", `StrictHostKeyChecking "maybe" is not yes, accept-new`],
    ["Host x\n  IdentitiesOnly sometimes", "x", `Host x: IdentitiesOnly "sometimes" is not yes or no`],
    [
      "Host x\n  IdentityFile ~/.ssh/%C",
      "x",
      `Host x: IdentityFile "~/.ssh/%C" is not a path with known %-tokens`,
    ],
    ["Host x\n  HostName %r.example.org", "x", `Host x: HostName`],
    ["Host x\n  ProxyJump a, b", "x", `Host x: ProxyJump "a, b" is not a list of [user@]host[:port]`],
    ["Host x\n  ProxyJump a:99999", "x", `Host x: ProxyJump "a:99999"`],
    [
      "Host x\n  ProxyJump x",
      "x",
      `Host x: ProxyJump "x" is not a chain of at most 8 hops (is there a loop?)`,
    ],
    ['Host x\n  IdentityFile "unterminated', "x", `${text}: Unexpected line break`],
  ];
  test.each(cases)("%j as %s", (configText, alias, message) => {
    const refuse = () => resolveSshHost(alias, { configText });
    expect(refuse).toThrow(InputError);
    expect(refuse).toThrow(expect.objectContaining({ code: "BAD_SSH_CONFIG" }));
    expect(refuse).toThrow(message);
  });

  test("the message names the file; loops through the fixture are caught", () => {
    expect(() => resolveSshHost("loop-a", { configPath: CONFIG })).toThrow(`${CONFIG}, Host loop-`);
  });

  test("a bad explicit port, an unreadable config", () => {
    expect(() => resolveSshHost("x", { configText: "", port: 0 })).toThrow(
      expect.objectContaining({ code: "BAD_SSH_OPTION" }),
    );
    expect(() => resolveSshHost("x", { configPath: FIXTURES })).toThrow(
      expect.objectContaining({ code: "SSH_CONFIG_UNREADABLE" }),
    );
  });
});

describe("Include and the default ~/.ssh/config", () => {
  let home = "";
  const savedHome = process.env.HOME;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "ak-ssh-home-"));
    process.env.HOME = home; // os.homedir() follows $HOME
    mkdirSync(join(home, ".ssh", "config.d"), { recursive: true });
    writeFileSync(
      join(home, ".ssh", "config.d", "10-curc"),
      "Host alpine\n  HostName login.rc.colorado.edu\n",
    );
    writeFileSync(join(home, ".ssh", "config.d", "20-other"), "Host other\n  Port 1\n");
    writeFileSync(
      join(home, ".ssh", "alpine-extra"),
      "ServerAliveInterval 7\nHost *\n  ServerAliveCountMax 9\n",
    );
  });
  afterEach(() => {
    process.env.HOME = savedHome;
    rmSync(home, { recursive: true, force: true });
  });

  test("relative to ~/.ssh, globbed, spliced where written, nothing from inactive blocks", () => {
    writeFileSync(
      join(home, ".ssh", "config"),
      [
        "Include config.d/*",
        "User everyone", // global again after the included file's Host blocks
        "Host alpine",
        "  Include ~/.ssh/alpine-extra",
        "  Port 2200", // back in `Host alpine` after the include
        "Host nobody",
        "  Include /no/such/dir/* alpine-extra",
      ].join("\n"),
    );
    expect(resolveSshHost("alpine")).toMatchObject({
      hostName: "login.rc.colorado.edu",
      user: "everyone",
      port: 2200,
      serverAliveIntervalSeconds: 7,
      serverAliveCountMax: 9,
      identityFiles: [
        join(home, ".ssh", "id_ed25519"),
        join(home, ".ssh", "id_ecdsa"),
        join(home, ".ssh", "id_rsa"),
      ],
    });
    const other = resolveSshHost("other");
    expect(other).toMatchObject({ hostName: "other", user: "everyone", port: 1 });
    expect(other.serverAliveIntervalSeconds).toBeUndefined();
  });

  test("a bad value in an included file", () => {
    writeFileSync(join(home, ".ssh", "config"), "Include config.d/*\n");
    writeFileSync(join(home, ".ssh", "config.d", "30-bad"), "Host bad\n  Port many\n");
    expect(() => resolveSshHost("bad")).toThrow(
      `${join(home, ".ssh", "config")} (or a file it includes), Host bad: Port`,
    );
  });
});

describe("agrees with ssh -G", () => {
  /** The fields `ssh -G` prints that ResolvedHost has, in our vocabulary. */
  function sshG(config: string, alias: string, user?: string, port?: number): Record<string, unknown> {
    const args = [
      "-G",
      "-F",
      config,
      ...(user ? ["-l", user] : []),
      ...(port ? ["-p", String(port)] : []),
      alias,
    ];
    const out = execFileSync("ssh", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const g = new Map(
      out.split("\n").map((line) => [line.split(" ")[0] ?? "", line.slice(line.indexOf(" ") + 1)]),
    );
    const strict: Record<string, string> = { true: "yes", false: "no" };
    return {
      hostName: g.get("hostname"),
      port: Number(g.get("port")),
      user: g.get("user"),
      identitiesOnly: g.get("identitiesonly") === "yes",
      strictHostKeyChecking: strict[g.get("stricthostkeychecking") ?? ""] ?? g.get("stricthostkeychecking"),
      serverAliveIntervalSeconds: Number(g.get("serveraliveinterval")),
      serverAliveCountMax: Number(g.get("serveralivecountmax")),
      hostKeyAlias: g.get("hostkeyalias"),
      userKnownHostsFiles: g.get("userknownhostsfile"),
      jumps: g.has("proxyjump"),
    };
  }
  function ours(resolved: ResolvedHost): Record<string, unknown> {
    return {
      hostName: resolved.hostName,
      port: resolved.port,
      user: resolved.user,
      identitiesOnly: resolved.identitiesOnly,
      strictHostKeyChecking: resolved.strictHostKeyChecking,
      serverAliveIntervalSeconds: resolved.serverAliveIntervalSeconds ?? 0,
      serverAliveCountMax: resolved.serverAliveCountMax ?? 3,
      hostKeyAlias: resolved.hostKeyAlias,
      userKnownHostsFiles: resolved.userKnownHostsFiles.join(" "),
      jumps: resolved.proxyJump !== undefined,
    };
  }
  /** Each hop as `ssh -l user -p port hop` would see it (only the first hop keeps its own ProxyJump). */
  function compare(
    config: string,
    resolved: ResolvedHost,
    user?: string,
    port?: number,
    firstHop = true,
  ): void {
    const expected = sshG(config, resolved.alias, user, port);
    expect(ours(resolved)).toEqual(firstHop ? expected : { ...expected, jumps: false });
    resolved.proxyJump?.forEach((hop, i) => compare(config, hop, hop.user, hop.port, i === 0));
  }

  test.each(cases)("%s %j", (alias, opts) => {
    compare(CONFIG, resolveSshHost(alias, { configPath: CONFIG, ...opts }), opts.user, opts.port);
  });

  test.each(["alpine-test-key", "alpine-test-2fa", "alpine-test-key2fa", "elsewhere"])(
    "test cluster: %s",
    (alias) => {
      compare(CLUSTER_CONFIG, resolveSshHost(alias, { configPath: CLUSTER_CONFIG }));
    },
  );

  test("Include with absolute paths", () => {
    const dir = mkdtempSync(join(tmpdir(), "ak-ssh-include-"));
    try {
      writeFileSync(join(dir, "a.conf"), "Host alpine\n  HostName login.rc.colorado.edu\n  Port 2201\n");
      writeFileSync(join(dir, "b.conf"), "Host *\n  User from-b\n");
      const config = join(dir, "config");
      writeFileSync(
        config,
        `Include ${dir}/*.conf\nServerAliveInterval 11\nHost alpine\n  Include ${dir}/a.conf\n`,
      );
      for (const alias of ["alpine", "else"]) compare(config, resolveSshHost(alias, { configPath: config }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
