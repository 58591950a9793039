/**
 * A streamed process over one ssh2 exec channel (`SshTransport.spawn`): its output read from the
 * start, its end reported once, and `done` called once when the channel is given back.
 */
import type { ClientChannel } from "ssh2";
import { ClusterError } from "../errors";
import { StdoutRelay, TailBuffer, type StreamExit, type StreamedProcess } from "./transport";

export function streamedChannel(stream: ClientChannel, done: () => void): StreamedProcess {
  const stderr = new TailBuffer();
  const stdout = new StdoutRelay();
  stream.stderr.on("data", (d: Buffer) => stderr.push(d));
  stream.on("data", (d: Buffer) => stdout.push(d));
  let ended = false;
  let finish!: (exit: StreamExit) => void;
  const exited = new Promise<StreamExit>((resolve) => {
    finish = (exit) => {
      if (ended) return;
      ended = true;
      done();
      resolve(exit);
    };
  });
  // code is undefined when the channel closed without an exit status (connection lost, closed).
  stream.on("close", (code?: number | null, signal?: string) =>
    finish({ code: typeof code === "number" ? code : null, ...(signal ? { signal } : {}) }),
  );
  stream.on("error", () => {}); // a channel error ends in close: exited reports it
  return {
    write: (data) => {
      if (!ended) stream.write(data);
    },
    onStdout: (listener) => stdout.add(listener),
    exited,
    stderrTail: () => stderr.toString(),
    // sshd keeps a channel open until its process exits and does not pass signals on: the
    // process is told by the end of its input (the introspection helper exits then), and the
    // channel is given back at once.
    close: () => {
      if (ended) return;
      stream.end();
      stream.close();
      finish({ code: null, signal: "closed" });
    },
  };
}

/** No channel left for one more long-lived process: `held` of `channels` are, and two stay for commands. */
export function streamLimitError(held: number, channels: number): ClusterError {
  return new ClusterError(
    "STREAM_LIMIT",
    `no channel left for a long-lived process: ${held} of cluster.max_channels=${channels} are held by them and two stay for commands`,
  );
}
