/**
 * known_hosts lookups against fixtures made by ssh-keygen (test/fixtures/ssh/README.md), with
 * ssh-keygen itself as the oracle for which lines match a host and for fingerprints.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utils } from "ssh2";
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  lookupKnownHosts,
  parseHostKeyBlob,
  type HostKey,
  type HostKeyCheck,
} from "../../../src/cluster/known-hosts";
import { ClusterError, InputError } from "../../../src/errors";

const FIXTURES = join(__dirname, "..", "..", "fixtures", "ssh");
const PLAIN = join(FIXTURES, "known_hosts");
const HASHED = join(FIXTURES, "known_hosts.hashed");
/** Lines 15-17 of the plain file are malformed on purpose (bad marker, bad base64, type mismatch). */
const FIRST_MALFORMED_LINE = 15;

function pubKey(file: string): HostKey {
  const [type = "", base64 = ""] = readFileSync(join(FIXTURES, file), "utf8").split(" ");
  return { type, data: Buffer.from(base64, "base64") };
}
const key = (name: string): HostKey => pubKey(`keys/${name}.pub`);
const REAL = pubKey("test-cluster/ssh_host_ed25519_key.pub");
const ED = "ssh-ed25519";
const EC = "ecdsa-sha2-nistp256";
const RSA = "ssh-rsa";

type Expect = [HostKeyCheck["status"], number?];
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
// what, host, port, presented key, knownTypes, verdict on the plain file, on the hashed file
const cases: [string, string, number, HostKey, string[], Expect, Expect][] = [
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

describe("checkHostKey", () => {
  const verdict = ([status, line]: Expect, file: string, knownTypes: string[]): HostKeyCheck =>
    line === undefined ? { status, knownTypes } : { status, knownTypes, file, line };

  test.each(cases)("%s: %s:%d", (_what, host, port, presented, knownTypes, plain, hashed) => {
    expect(checkHostKey([PLAIN], host, port, presented)).toEqual(verdict(plain, PLAIN, knownTypes));
    expect(checkHostKey([HASHED], host, port, presented)).toEqual(verdict(hashed, HASHED, knownTypes));
  });

  test("every file counts: a match in a later file beats a changed key in an earlier one", () => {
    const earlier = {
      name: "earlier",
      text: formatKnownHostsLine("login.rc.colorado.edu", 22, key("alpine-ed25519-new")),
    };
    expect(checkHostKey([earlier, PLAIN], "login.rc.colorado.edu", 22, key("alpine-ed25519"))).toMatchObject({
      status: "match",
      file: PLAIN,
      line: 3,
    });
    expect(checkHostKey([earlier], "login.rc.colorado.edu", 22, key("alpine-ed25519"))).toEqual({
      status: "changed",
      knownTypes: [ED],
      file: "earlier",
      line: 1,
    });
  });

  test("a missing file is empty; an unreadable one is an error", () => {
    expect(checkHostKey([join(FIXTURES, "no-such-file"), "/dev/null"], "x", 22, REAL)).toEqual({
      status: "unknown",
      knownTypes: [],
    });
    expect(() => checkHostKey([FIXTURES], "x", 22, REAL)).toThrow(ClusterError);
  });
});

describe("lookupKnownHosts agrees with ssh-keygen -F", () => {
  const hosts: [string, number][] = [
    ...new Map(cases.map(([, h, p]) => [`${h}:${p}`, [h.toLowerCase(), p] as [string, number]])).values(),
  ];
  const keygenLines = (file: string, host: string, port: number): number[] => {
    const name = port === 22 ? host : `[${host}]:${port}`;
    let out = "";
    try {
      out = execFileSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" });
    } catch {
      return []; // exit 1: not found
    }
    return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
  };
  test.each(hosts)("%s:%d", (host, port) => {
    expect(lookupKnownHosts([HASHED], host, port).map((e) => e.line)).toEqual(
      keygenLines(HASHED, host, port),
    );
    const plain = keygenLines(PLAIN, host, port).filter((line) => line < FIRST_MALFORMED_LINE);
    expect(lookupKnownHosts([PLAIN], host, port).map((e) => e.line)).toEqual(plain);
  });

  test("entries say how they matched", () => {
    expect(lookupKnownHosts([HASHED], "127.0.0.1", 2222)).toEqual([
      { file: HASHED, line: 9, hashed: true, key: REAL },
      { file: HASHED, line: 13, marker: "revoked", hashed: false, key: key("revoked-ed25519") },
    ]);
  });
});

describe("host key blobs and fingerprints", () => {
  const names = ["alpine-ed25519", "alpine-ecdsa", "alpine-rsa", "node-ecdsa384"];
  test.each(names)("%s: the type is the one ssh2 reads", (name) => {
    const blob = key(name).data;
    const parsed = utils.parseKey(blob);
    if (parsed instanceof Error) throw parsed;
    expect(parseHostKeyBlob(blob)).toEqual({ type: parsed.type, data: blob });
    expect(parsed.type).toBe(key(name).type);
  });

  test.each([
    ["empty", Buffer.alloc(0)],
    ["length past the end", Buffer.from([0, 0, 0, 50, 0x73, 0x73, 0x68])],
    ["no fields after the type", Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("ssh")])],
    ["control characters", Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("a\nb"), Buffer.alloc(8)])],
  ])("%s is not a key", (_what, blob) => {
    expect(() => parseHostKeyBlob(blob)).toThrow(expect.objectContaining({ code: "BAD_HOST_KEY" }));
  });

  const captured = readFileSync(join(FIXTURES, "keys", "fingerprints.txt"), "utf8")
    .trim()
    .split("\n");
  test.each(captured)("ssh-keygen -lf: %s", (line) => {
    const [, fingerprint, comment] = line.split(" ");
    expect(fingerprintSha256(key(comment ?? "").data)).toBe(fingerprint);
  });

  test("the test cluster's host key, against ssh-keygen -lf now", () => {
    const out = execFileSync(
      "ssh-keygen",
      ["-lf", join(FIXTURES, "test-cluster", "ssh_host_ed25519_key.pub")],
      {
        encoding: "utf8",
      },
    );
    expect(out.split(" ")[1]).toBe(fingerprintSha256(REAL.data));
  });
});

describe("formatKnownHostsLine and appendKnownHost", () => {
  let dir = "";
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "ak-known-hosts-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const base64 = REAL.data.toString("base64");

  test.each([
    ["login.rc.colorado.edu", 22, `login.rc.colorado.edu ssh-ed25519 ${base64}`],
    ["Login.RC.colorado.edu", 2222, `[login.rc.colorado.edu]:2222 ssh-ed25519 ${base64}`],
    ["2001:db8::1", 2022, `[2001:db8::1]:2022 ssh-ed25519 ${base64}`],
  ])("%s:%d", (host, port, line) => {
    expect(formatKnownHostsLine(host, port, REAL)).toBe(line);
  });

  test("hashed lines: fresh salt each time, found by us and by ssh-keygen -F", () => {
    const first = formatKnownHostsLine("127.0.0.1", 2222, REAL, { hash: true });
    const second = formatKnownHostsLine("127.0.0.1", 2222, REAL, { hash: true });
    expect(first).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    expect(first).not.toBe(second);
    const file = join(dir, "known_hosts");
    writeFileSync(file, `${first}\n`);
    expect(checkHostKey([file], "127.0.0.1", 2222, REAL)).toMatchObject({ status: "match", line: 1 });
    expect(
      execFileSync("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", file], { encoding: "utf8" }),
    ).toContain("found: line 1");
  });

  test.each(["", "two words", "a,b", "*.example.org", "[x]:1"])("refuses host %j", (host) => {
    expect(() => formatKnownHostsLine(host, 22, REAL)).toThrow(InputError);
  });

  test("refuses a key whose type is not its blob's", () => {
    expect(() => formatKnownHostsLine("x", 22, { type: RSA, data: REAL.data })).toThrow(InputError);
  });

  test("creates the directory (0700) and the file (0600), one entry per line", async () => {
    const file = join(dir, ".ssh", "known_hosts");
    await appendKnownHost(file, "a ssh-ed25519 AAAA");
    await appendKnownHost(file, "b ssh-ed25519 BBBB");
    expect(statSync(join(dir, ".ssh")).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toBe("a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\n");
  });

  test("starts a new line after a file that does not end in one", async () => {
    const file = join(dir, "known_hosts");
    writeFileSync(file, "a ssh-ed25519 AAAA");
    await appendKnownHost(file, "b ssh-ed25519 BBBB");
    expect(readFileSync(file, "utf8")).toBe("a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\n");
  });

  test("refuses more than one line; reports a file it cannot write", async () => {
    await expect(appendKnownHost(join(dir, "known_hosts"), "a\nb")).rejects.toThrow(InputError);
    await expect(appendKnownHost(join(dir, "f", "known_hosts"), "x")).resolves.toBeUndefined();
    await expect(appendKnownHost(join(dir, "f", "known_hosts", "deeper"), "x")).rejects.toMatchObject({
      code: "KNOWN_HOSTS_WRITE_FAILED",
    });
  });
});
