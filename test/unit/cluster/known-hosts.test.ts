/**
 * known_hosts lookups against fixtures made by ssh-keygen (test/fixtures/ssh/README.md). What
 * ssh-keygen itself says of the same files (`-F`, `-lf`) is checked by
 * test/integration/cluster/known-hosts-openssh.test.ts; here only captured answers are used.
 */
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
  type HostKeyCheck,
} from "../../../src/cluster/known-hosts";
import { ClusterError, InputError } from "../../../src/errors";
import {
  ED,
  FIXTURES,
  HASHED,
  KNOWN_HOSTS_CASES as cases,
  PLAIN,
  REAL,
  RSA,
  key,
  type Expect,
} from "../../helpers/ssh-fixtures";

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

describe("lookupKnownHosts", () => {
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

  test("hashed lines: fresh salt each time, found by us (ssh-keygen -F: the integration test)", () => {
    const first = formatKnownHostsLine("127.0.0.1", 2222, REAL, { hash: true });
    const second = formatKnownHostsLine("127.0.0.1", 2222, REAL, { hash: true });
    expect(first).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    expect(first).not.toBe(second);
    const file = join(dir, "known_hosts");
    writeFileSync(file, `${first}\n`);
    expect(checkHostKey([file], "127.0.0.1", 2222, REAL)).toMatchObject({ status: "match", line: 1 });
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
