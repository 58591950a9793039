/**
 * resolveSshHost against fixture configs (test/fixtures/ssh/README.md). OpenSSH's own `ssh -G`
 * (which prints the configuration ssh would use) is the oracle for the same cases in
 * test/integration/cluster/ssh-host-config-openssh.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSshHost } from "../../../src/cluster/ssh-host-config";
import { InputError } from "../../../src/errors";
import {
  CLUSTER_CONFIG,
  CONFIG,
  DEFAULT_IDENTITIES,
  FIXTURES,
  ME,
  SSH_CONFIG_CASES as cases,
  host,
} from "../../helpers/ssh-fixtures";

const HOME = homedir();

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
