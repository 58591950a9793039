/**
 * The connection file jupyter_client writes for a kernel it launches.
 * https://jupyter-client.readthedocs.io/en/stable/kernels.html#connection-files
 */
import { readFileSync } from "node:fs";
import { ProtocolError, isObject } from "./validate";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

const PORTS = ["shell_port", "control_port", "stdin_port", "iopub_port", "hb_port"] as const;

export function assertConnectionInfo(x: unknown, source = "connection file"): asserts x is ConnectionInfo {
  if (!isObject(x)) throw new ProtocolError(`${source}: not a JSON object`);
  if (x.transport === undefined) x.transport = "tcp";
  if (x.transport !== "tcp" && x.transport !== "ipc")
    throw new ProtocolError(`${source}: transport must be tcp or ipc`);
  if (typeof x.ip !== "string" || !x.ip) throw new ProtocolError(`${source}: ip is missing`);
  for (const p of PORTS) {
    const v = x[p];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
      throw new ProtocolError(`${source}: ${p} must be a port number, got ${JSON.stringify(v)}`);
    }
  }
  if (x.key === undefined) x.key = "";
  if (typeof x.key !== "string") throw new ProtocolError(`${source}: key must be a string`);
  if (x.signature_scheme === undefined) x.signature_scheme = "hmac-sha256";
  if (typeof x.signature_scheme !== "string")
    throw new ProtocolError(`${source}: signature_scheme must be a string`);
}

export function readConnectionFile(path: string): ConnectionInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ProtocolError(`cannot read connection file ${path}: ${(err as Error).message}`);
  }
  assertConnectionInfo(parsed, path);
  return parsed;
}

/** zmq endpoint for one channel, e.g. tcp://127.0.0.1:5555 or ipc://path-1 */
export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
