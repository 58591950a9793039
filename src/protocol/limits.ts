/**
 * The largest message a frontend may send, on the server's WebSocket and to the kernel bridge's
 * ZeroMQ sockets. Anything bigger is refused while it arrives, before it is buffered whole (before,
 * a 256 MiB WebSocket frame was accepted, and the bridge buffered a ZeroMQ frame of any size before
 * checking its signature: a 200 MiB unsigned frame from any local user cost it 200 MB).
 *
 * The limit follows the largest cell allowed (server.max_cell_code_mib): JSON may escape one byte of
 * code as up to six (`\u0001`), plus room for the message's other parts. So a cell just over its
 * own limit still arrives, and is answered with a clear error.
 */
const MIB = 1024 * 1024;

export function maxMessageBytes(maxCellCodeMib: number): number {
  return Math.ceil(6 * maxCellCodeMib * MIB + MIB);
}
