/**
 * OpenSSH's `ssh -G` (which prints the configuration ssh would use) as the oracle for
 * resolveSshHost, on the cases of test/unit/cluster/ssh-host-config.test.ts (which checks them
 * against written-out expectations without ssh) and the test cluster's client config.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSshHost, type ResolvedHost } from "../../../src/cluster/ssh-host-config";
import { CLUSTER_CONFIG, CONFIG, SSH_CONFIG_CASES as cases } from "../../helpers/ssh-fixtures";

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
