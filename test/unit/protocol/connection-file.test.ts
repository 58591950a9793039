/** The connection file jupyter_client writes: read, defaults filled, bad ones refused naming the field. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertConnectionInfo,
  endpoint,
  readConnectionFile,
  type ConnectionInfo,
} from "../../../src/protocol/connection-file";
import { ProtocolError } from "../../../src/protocol/validate";

/** As jupyter_client 7.4 writes it (write_connection_file). */
const JUPYTER_CLIENT_FILE = {
  shell_port: 41001,
  iopub_port: 41002,
  stdin_port: 41003,
  control_port: 41004,
  hb_port: 41005,
  ip: "127.0.0.1",
  key: "b0d6a0b4-7c2e4d2e9a1f3c5d7e9f1a3b",
  transport: "tcp",
  signature_scheme: "hmac-sha256",
  kernel_name: "alpine",
};

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "ak-conn-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test("reads what jupyter_client writes", () => {
  const info = readConnectionFile(file("kernel-1.json", JSON.stringify(JUPYTER_CLIENT_FILE)));
  expect(info).toEqual(JUPYTER_CLIENT_FILE);
  expect(endpoint(info, info.shell_port)).toBe("tcp://127.0.0.1:41001");
});

test("transport, key and signature_scheme default as in jupyter_client", () => {
  const { transport: _t, key: _k, signature_scheme: _s, ...minimal } = JUPYTER_CLIENT_FILE;
  const x: unknown = { ...minimal };
  assertConnectionInfo(x);
  expect(x).toMatchObject({ transport: "tcp", key: "", signature_scheme: "hmac-sha256" });
});

test("ipc endpoints are ip-port paths", () => {
  const info: ConnectionInfo = { ...JUPYTER_CLIENT_FILE, transport: "ipc", ip: "/tmp/kernel-abc" };
  expect(endpoint(info, 3)).toBe("ipc:///tmp/kernel-abc-3");
});

const bad: [string, unknown, RegExp][] = [
  ["not an object", [1, 2], /not a JSON object/],
  ["transport udp", { ...JUPYTER_CLIENT_FILE, transport: "udp" }, /transport must be tcp or ipc/],
  ["no ip", { ...JUPYTER_CLIENT_FILE, ip: "" }, /ip is missing/],
  [
    "port as string",
    { ...JUPYTER_CLIENT_FILE, shell_port: "41001" },
    /shell_port must be a port number, got "41001"/,
  ],
  ["port too large", { ...JUPYTER_CLIENT_FILE, hb_port: 70000 }, /hb_port must be a port number, got 70000/],
  ["port missing", { ...JUPYTER_CLIENT_FILE, control_port: undefined }, /control_port must be a port number/],
  ["port fractional", { ...JUPYTER_CLIENT_FILE, iopub_port: 1.5 }, /iopub_port must be a port number/],
  ["key a number", { ...JUPYTER_CLIENT_FILE, key: 5 }, /key must be a string/],
  ["scheme null", { ...JUPYTER_CLIENT_FILE, signature_scheme: null }, /signature_scheme must be a string/],
];
test.each(bad)("refuses %s", (_name, value, message) => {
  expect(() => assertConnectionInfo(JSON.parse(JSON.stringify(value)) as unknown, "kernel.json")).toThrow(
    ProtocolError,
  );
  expect(() => assertConnectionInfo(JSON.parse(JSON.stringify(value)) as unknown, "kernel.json")).toThrow(
    message,
  );
});

test("a missing or unreadable file names the path", () => {
  expect(() => readConnectionFile(join(dir, "nope.json"))).toThrow(
    /cannot read connection file .*nope\.json/,
  );
  const p = file("broken.json", "{ not json");
  expect(() => readConnectionFile(p)).toThrow(/cannot read connection file .*broken\.json/);
  const q = file("wrong.json", JSON.stringify({ ...JUPYTER_CLIENT_FILE, stdin_port: -1 }));
  expect(() => readConnectionFile(q)).toThrow(`${q}: stdin_port must be a port number, got -1`);
});
