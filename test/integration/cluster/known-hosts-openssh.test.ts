/**
 * OpenSSH's ssh-keygen as the oracle for our known_hosts code, on the fixtures of
 * test/fixtures/ssh/ (the unit test test/unit/cluster/known-hosts.test.ts checks the rest without
 * it): which lines match a host (`-F`), fingerprints (`-lf`), and that it finds the hashed lines we
 * write.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  lookupKnownHosts,
} from "../../../src/cluster/known-hosts";
import {
  FIRST_MALFORMED_LINE,
  HASHED,
  KNOWN_HOSTS_QUERIES,
  PLAIN,
  REAL,
  REAL_PUB,
} from "../../helpers/ssh-fixtures";

/** The lines `ssh-keygen -F` finds for host:port in file (none: exit 1). */
function keygenLines(file: string, host: string, port: number): number[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  let out = "";
  try {
    out = execFileSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" });
  } catch {
    return []; // exit 1: not found
  }
  return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

describe("lookupKnownHosts agrees with ssh-keygen -F", () => {
  test.each(KNOWN_HOSTS_QUERIES)("%s:%d", (host, port) => {
    expect(lookupKnownHosts([HASHED], host, port).map((e) => e.line)).toEqual(
      keygenLines(HASHED, host, port),
    );
    const plain = keygenLines(PLAIN, host, port).filter((line) => line < FIRST_MALFORMED_LINE);
    expect(lookupKnownHosts([PLAIN], host, port).map((e) => e.line)).toEqual(plain);
  });
});

test("the test cluster's host key, against ssh-keygen -lf now", () => {
  const out = execFileSync("ssh-keygen", ["-lf", REAL_PUB], { encoding: "utf8" });
  expect(out.split(" ")[1]).toBe(fingerprintSha256(REAL.data));
});

test("a hashed line we write is found by us and by ssh-keygen -F", () => {
  const dir = mkdtempSync(join(tmpdir(), "ak-known-hosts-"));
  try {
    const file = join(dir, "known_hosts");
    writeFileSync(file, `${formatKnownHostsLine("127.0.0.1", 2222, REAL, { hash: true })}\n`);
    expect(checkHostKey([file], "127.0.0.1", 2222, REAL)).toMatchObject({ status: "match", line: 1 });
    expect(
      execFileSync("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", file], { encoding: "utf8" }),
    ).toContain("found: line 1");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
