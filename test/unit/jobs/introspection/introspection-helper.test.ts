/**
 * The introspection helper's client never delays or breaks a reply: before the helper is ready, after
 * it died, while it may not start (no SSH login yet) a request is answered undefined at once; a slow
 * helper is given up on after timeoutMs; a reply that is not what the protocol says is dropped. A
 * hand-written fake process stands in for the Python helper.
 */
import type { StreamExit, StreamedProcess } from "../../../../src/cluster/transport";
import { IntrospectionHelper } from "../../../../src/jobs/introspection/introspection-helper";
import { ScriptedTransport } from "../slurm/scripted-transport";

class FakeProcess implements StreamedProcess {
  readonly written: Record<string, unknown>[] = [];
  private listeners: ((chunk: Buffer) => void)[] = [];
  private end!: (exit: StreamExit) => void;
  readonly exited = new Promise<StreamExit>((r) => (this.end = r));
  closed = false;
  constructor(readonly argv: readonly string[]) {}
  write(data: string): void {
    for (const line of data.split("\n").filter(Boolean))
      this.written.push(JSON.parse(line) as Record<string, unknown>);
  }
  onStdout(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }
  stderrTail(): string {
    return "Traceback: boom";
  }
  close(): void {
    this.closed = true;
    this.end({ code: null, signal: "closed" });
  }
  /** The helper prints. */
  say(obj: unknown, raw?: string): void {
    for (const l of this.listeners) l(Buffer.from(raw ?? JSON.stringify(obj) + "\n"));
  }
  die(code: number): void {
    this.end({ code });
  }
  last(): Record<string, unknown> {
    return this.written.at(-1)!;
  }
}

class HelperTransport extends ScriptedTransport {
  readonly spawned: FakeProcess[] = [];
  constructor() {
    super(() => new Error("no commands expected"));
  }
  override async exists(): Promise<boolean> {
    return true; // the runner (and the helper beside it) is installed
  }
  override async spawn(argv: readonly string[]): Promise<StreamedProcess> {
    const p = new FakeProcess(argv);
    this.spawned.push(p);
    return p;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(over: { canStart?: () => boolean; timeoutMs?: number } = {}) {
  const t = new HelperTransport();
  const logs: string[] = [];
  const helper = new IntrospectionHelper(t, {
    environment: { modules: ["miniforge"], conda_env: "my env", setup: [], python: "python" },
    workDir: "/scratch/alpine/u/ak",
    loginShell: true,
    timeoutMs: over.timeoutMs ?? 200,
    nice: 19,
    canStart: over.canStart ?? (() => true),
    log: (m) => logs.push(m),
  });
  return { t, helper, logs };
}

async function ready(over?: Parameters<typeof setup>[0]) {
  const s = setup(over);
  expect(await s.helper.complete("x", 1)).toBeUndefined(); // not started yet: at once
  await tick();
  const p = s.t.spawned[0]!;
  p.say({ ready: true, jedi: "0.18.2", python: "3.11.2" });
  expect(s.helper.state).toBe("ready");
  return { ...s, p };
}

test("starts in the cells' environment: login shell, modules, conda env, the helper beside the runner", async () => {
  const { p } = await ready();
  expect(p.argv.slice(0, 3)).toEqual(["bash", "-l", "-c"]);
  const script = p.argv[3]!;
  expect(script).toContain("module load miniforge");
  expect(script).toContain("conda activate 'my env'");
  expect(script).toMatch(
    /exec python -u \/scratch\/alpine\/u\/ak\/runner\/[^/]+\/alpine_kernel_introspect\.py --nice 19$/,
  );
});

test("a ready helper's answers, typed", async () => {
  const { helper, p } = await ready();
  const pending = helper.complete("df.gr", 5);
  await tick();
  expect(p.last()).toMatchObject({ op: "complete", code: "df.gr", cursor: 5 });
  p.say({
    id: p.last().id,
    matches: ["groupby"],
    start: 3,
    end: 5,
    types: [{ start: 3, end: 5, text: "groupby", type: "function", signature: "" }],
  });
  expect(await pending).toEqual({
    matches: ["groupby"],
    start: 3,
    end: 5,
    details: [{ start: 3, end: 5, text: "groupby", type: "function", signature: "" }],
  });
  const inspected = helper.inspect("len(", 4, 0);
  await tick();
  p.say({ id: p.last().id, found: true, data: { "text/plain": "Signature: len(obj, /)" } });
  expect(await inspected).toEqual({ found: true, data: { "text/plain": "Signature: len(obj, /)" } });
});

test("the namespace's context goes to the helper when it is ready, and again when it changes", async () => {
  const s = setup();
  s.helper.setContext({ modules: { np: "numpy" }, types: {}, cells: ["import numpy as np"] });
  await tick();
  const p = s.t.spawned[0]!;
  p.say({ ready: true, jedi: "0.18.2", python: "3.11.2" });
  expect(p.last()).toMatchObject({ op: "context", modules: { np: "numpy" }, cells: ["import numpy as np"] });
  s.helper.setContext({ modules: {}, types: { df: "pandas.core.frame:DataFrame" }, cells: [] });
  expect(p.last()).toMatchObject({ op: "context", types: { df: "pandas.core.frame:DataFrame" } });
});

test("a slow helper is given up on after timeoutMs", async () => {
  const { helper } = await ready({ timeoutMs: 50 });
  const t0 = Date.now();
  expect(await helper.complete("df.groupby('a').me", 18)).toBeUndefined();
  expect(Date.now() - t0).toBeLessThan(1000);
});

test("replies that are not the protocol's are dropped, never trusted", async () => {
  const { helper, p } = await ready({ timeoutMs: 100 });
  const a = helper.complete("x", 1);
  await tick();
  p.say(undefined, "this is not json\n");
  p.say({ id: p.last().id, matches: "groupby", start: 0, end: 1 });
  expect(await a).toBeUndefined();
  const b = helper.complete("x", 1);
  await tick();
  p.say({ id: p.last().id, error: "TypeError: boom" });
  expect(await b).toBeUndefined();
});

test("a helper that dies: requests waiting on it are answered at once, and it comes back later", async () => {
  const { t, helper, p, logs } = await ready({ timeoutMs: 10_000 });
  const waiting = helper.complete("x", 1);
  await tick();
  const t0 = Date.now();
  p.die(1);
  expect(await waiting).toBeUndefined();
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(helper.state).toBe("down");
  expect(logs.join("\n")).toMatch(/exited \(1\): Traceback: boom/);
  expect(await helper.complete("x", 1)).toBeUndefined(); // no new helper yet (backoff)
  await tick();
  expect(t.spawned).toHaveLength(1);
});

test("jedi missing in the environment: said once in the log, not retried for a long while", async () => {
  const s = setup();
  await s.helper.complete("x", 1);
  await tick();
  s.t.spawned[0]!.say({ ready: false, error: "jedi cannot be imported in the cells' environment" });
  await tick();
  expect(s.logs.join("\n")).toContain("jedi cannot be imported");
  expect(s.helper.state).toBe("down");
  await s.helper.complete("x", 1);
  expect(s.t.spawned).toHaveLength(1);
});

test("never started while it may not (SSH not connected: no login for a completion)", async () => {
  const s = setup({ canStart: () => false });
  expect(await s.helper.complete("x", 1)).toBeUndefined();
  await tick();
  expect(s.t.spawned).toHaveLength(0);
});

test("close(): the helper's input ends, and nothing starts again", async () => {
  const { t, helper, p } = await ready();
  helper.close();
  expect(p.closed).toBe(true);
  expect(await helper.complete("x", 1)).toBeUndefined();
  await tick();
  expect(t.spawned).toHaveLength(1);
});
