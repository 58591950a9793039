/**
 * One real handshake: ssh2 against the test cluster's sshd (127.0.0.1:2222), its `hostVerifier`
 * deciding with checkHostKey. Without credentials the connection ends at authentication, which
 * proves the host key was accepted; a refused key ends it during the handshake. Needs
 * scripts/test-cluster/up.sh; fails when the cluster is not there.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "ssh2";
import {
  checkHostKey,
  fingerprintSha256,
  parseHostKeyBlob,
  type HostKeyCheck,
  type KnownHostsSource,
} from "../../src/cluster/known-hosts";

const RUN = "/tmp/alpine-kernel-test-cluster/run/ssh";
const KNOWN_HOSTS = join(RUN, "known_hosts");
const HOST = "127.0.0.1";
const PORT = 2222;

interface Outcome {
  blobs: unknown[];
  check?: HostKeyCheck;
  level?: string;
  message?: string;
}

/** Connects without credentials; the verifier accepts only a known_hosts "match". */
function handshake(sources: KnownHostsSource[], hostHash?: "sha256"): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { blobs: [] };
    const client = new Client();
    client.on("ready", () => {
      client.end();
      resolve(outcome);
    });
    client.on("error", (err: Error & { level?: string }) => {
      client.end();
      resolve({ ...outcome, level: err.level, message: err.message });
    });
    client.connect({
      host: HOST,
      port: PORT,
      username: "nobody-in-particular",
      readyTimeout: 15000,
      ...(hostHash && { hostHash }),
      hostVerifier: (key: Buffer | string): boolean => {
        outcome.blobs.push(key);
        if (typeof key === "string") return false;
        outcome.check = checkHostKey(sources, HOST, PORT, parseHostKeyBlob(key));
        return outcome.check.status === "match";
      },
    });
  });
}

describe("ssh2 hostVerifier with checkHostKey, real sshd", () => {
  beforeAll(() => {
    if (!existsSync(KNOWN_HOSTS))
      throw new Error(`${KNOWN_HOSTS} is missing: run scripts/test-cluster/up.sh as root`);
  });
  const [type = "", base64 = ""] = readFileSync(join(RUN, "ssh_host_ed25519_key.pub"), "utf8").split(" ");
  const hostKey = Buffer.from(base64, "base64");

  test("the test cluster's known_hosts: accepted, the handshake reaches authentication", async () => {
    const outcome = await handshake([KNOWN_HOSTS]);
    expect(outcome.check).toEqual({ status: "match", knownTypes: [type], file: KNOWN_HOSTS, line: 1 });
    expect(outcome.level).toBe("client-authentication");
    // ssh2 hands over the raw blob, exactly the base64 of the .pub file; the type comes out of it.
    expect(outcome.blobs).toHaveLength(1);
    expect(Buffer.isBuffer(outcome.blobs[0]) && hostKey.equals(outcome.blobs[0])).toBe(true);
    expect(fingerprintSha256(hostKey)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test("a known_hosts with another ed25519 key for the host: changed, refused in the handshake", async () => {
    const other = readFileSync(
      join(__dirname, "..", "fixtures", "ssh", "keys", "bastion-ed25519.pub"),
      "utf8",
    );
    const wrong = { name: "wrong", text: `[${HOST}]:${PORT} ${other}` };
    const outcome = await handshake([wrong]);
    expect(outcome.check).toEqual({ status: "changed", knownTypes: [type], file: "wrong", line: 1 });
    expect(outcome).toMatchObject({ level: "handshake", message: "Host denied (verification failed)" });
  });

  test("an empty known_hosts: unknown, refused", async () => {
    const outcome = await handshake([{ name: "empty", text: "" }]);
    expect(outcome.check).toEqual({ status: "unknown", knownTypes: [] });
    expect(outcome.level).toBe("handshake");
  });

  test("with hostHash set, ssh2 passes a hex digest instead of the blob (no type, not OpenSSH's form)", async () => {
    const outcome = await handshake([KNOWN_HOSTS], "sha256");
    expect(outcome.blobs).toEqual([createHash("sha256").update(hostKey).digest("hex")]);
  });
});
