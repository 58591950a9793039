/**
 * A cell's code (and the code of a completion or inspection request) has a size limit,
 * `server.max_cell_code_mib`: the code is written to the cluster, kept in the history and the
 * ledger, and echoed to every frontend, so a pasted data set must not travel as code. The
 * WebSocket and ZeroMQ frame limits are derived from it (protocol/limits.ts), so that a cell just
 * over the limit still arrives and gets this clear error rather than a closed connection.
 */
import { InputError } from "../errors";

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;
}

/** The error for code over the limit, or undefined when it fits. */
export function codeTooLarge(code: string, limitMib: number): InputError | undefined {
  // Cheap first: a UTF-8 byte count is at most 3 per UTF-16 unit.
  if (code.length * 3 <= limitMib * MIB) return undefined;
  const bytes = Buffer.byteLength(code, "utf8");
  if (bytes <= limitMib * MIB) return undefined;
  return new InputError(
    "CELL_TOO_LARGE",
    `this cell's code is ${mib(bytes)}, over the limit of ${limitMib} MiB (server.max_cell_code_mib): keep data out of the code — save it to a file and read the file in the cell`,
  );
}
