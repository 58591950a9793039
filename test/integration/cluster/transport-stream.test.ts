/**
 * `Transport.spawn`: a long-lived process with its stdin and stdout streamed, over both transports
 * — this machine's child_process, and one exec channel of the ssh2 connection to the test cluster's
 * sshd as its ordinary user. The same cases run on both: lines echoed back as they are written,
 * the exit code and the end of stderr of a process that dies, a program that does not exist, the
 * process ending when it is closed, and (ssh) the channel limit that keeps two channels for commands.
 */
import { LocalTransport } from "../../../src/cluster/local-transport";
import type { Prompter } from "../../../src/cluster/prompts";
import { resolveSshHost } from "../../../src/cluster/ssh-host-config";
import { SshTransport } from "../../../src/cluster/ssh-transport";
import type { StreamedProcess, Transport } from "../../../src/cluster/transport";
import { AlpineKernelError } from "../../../src/errors";
import { requireCluster } from "../../helpers/slurm";

const nobody: Prompter = { ask: () => Promise.reject(new Error("no prompt expected (key login)")) };

function sshTransport(maxChannels?: number): SshTransport {
  const cluster = requireCluster();
  const host = resolveSshHost("alpine-test-key", { configPath: cluster.ALPINE_TEST_SSH_CONFIG });
  return new SshTransport(host, { prompter: nobody, maxChannels });
}

/** Collects a process's stdout and waits until it holds `text`. */
function collector(p: StreamedProcess): { text: () => string; until: (want: string) => Promise<void> } {
  let out = "";
  const waiting: (() => void)[] = [];
  p.onStdout((chunk) => {
    out += chunk.toString("utf8");
    for (const w of waiting.splice(0)) w();
  });
  const until = async (want: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!out.includes(want)) {
      if (Date.now() > deadline) throw new Error(`stdout never held ${JSON.stringify(want)}: ${out}`);
      await new Promise<void>((r) => {
        waiting.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return { text: () => out, until };
}

const transports: [string, () => Transport][] = [
  ["local", () => new LocalTransport()],
  ["ssh", () => sshTransport()],
];

test("local: close() ends a process that never reads its input (SIGTERM)", async () => {
  const p = await new LocalTransport().spawn(["sleep", "600"]);
  p.close();
  expect(await p.exited).toEqual({ code: null, signal: "SIGTERM" });
});

describe.each(transports)("spawn over the %s transport", (_kind, make) => {
  let transport: Transport;
  beforeAll(() => {
    transport = make();
  });
  afterAll(async () => {
    await transport.close();
  });

  test("lines written to stdin come back as they are written, while the process lives", async () => {
    const p = await transport.spawn(["cat"]);
    const out = collector(p);
    p.write("first line\n");
    await out.until("first line\n");
    p.write("second ünïcode line\n");
    await out.until("second ünïcode line\n");
    expect(out.text()).toBe("first line\nsecond ünïcode line\n");
    p.close();
    expect((await p.exited).code === 0 || (await p.exited).code === null).toBe(true);
    p.write("after the end\n"); // ignored, no throw
  });

  test("a process that dies: its exit code and the end of its stderr", async () => {
    const p = await transport.spawn(["bash", "-c", 'echo "helper broke: no jedi" >&2; exit 3']);
    const exit = await p.exited;
    expect(exit.code).toBe(3);
    expect(p.stderrTail()).toContain("helper broke: no jedi");
  });

  test("stderr keeps only its end", async () => {
    const p = await transport.spawn(["bash", "-c", 'for i in $(seq 1 2000); do echo "line $i" >&2; done']);
    await p.exited;
    const tail = p.stderrTail();
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail).toContain("line 2000\n");
    expect(tail).not.toContain("line 1\n");
  });

  test("a program that does not exist exits 127 and says so", async () => {
    const p = await transport.spawn(["no-such-program-ak"]);
    const exit = await p.exited;
    expect(exit.code).toBe(127);
    expect(p.stderrTail()).toMatch(/no-such-program-ak|not found|ENOENT/);
  });

  test("close() ends a process that waits on its input, at once", async () => {
    // The introspection helper's shape: reads requests until its input ends.
    const p = await transport.spawn(["bash", "-c", 'while read -r line; do echo "got $line"; done; exit 0']);
    const out = collector(p);
    p.write("x\n");
    await out.until("got x\n");
    const t0 = Date.now();
    p.close();
    await p.exited;
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  test("arguments reach the process as one word each, never through a shell", async () => {
    const p = await transport.spawn(["printf", "%s|", "a b", "$HOME", "'; echo pwned"]);
    const out = collector(p);
    await p.exited;
    expect(out.text()).toBe("a b|$HOME|'; echo pwned|");
  });
});

test("ssh: long-lived processes leave two channels to commands, and say so when none is left", async () => {
  const transport = sshTransport(3); // 3 channels: one for a stream, two for commands
  try {
    const first = await transport.spawn(["cat"]);
    const refused = await transport.spawn(["cat"]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AlpineKernelError);
    expect((refused as AlpineKernelError).code).toBe("STREAM_LIMIT");
    expect((refused as Error).message).toMatch(/max_channels=3/);
    // Commands still run, two at once, while the stream holds its channel.
    const [a, b] = await Promise.all([transport.run(["echo", "a"]), transport.run(["echo", "b"])]);
    expect(a.stdout + b.stdout).toBe("a\nb\n");
    first.close();
    await first.exited;
    const again = await transport.spawn(["cat"]); // its channel came back
    again.close();
    await again.exited;
  } finally {
    await transport.close();
  }
});

test("ssh: a stream cut by a lost connection reports an exit with no code", async () => {
  const transport = sshTransport();
  try {
    const p = await transport.spawn(["cat"]);
    await transport.logout(); // the connection goes away under the stream
    const exit = await p.exited;
    expect(exit.code).toBeNull();
  } finally {
    await transport.close();
  }
});
