/** Asks a question on the terminal; a secret is read without echo (what is typed is not shown). */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";

export function askOnTerminal(question: string, secret: boolean): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY === true });
  return new Promise((resolve, reject) => {
    // Settle before close(): close emits "close" at once, whose handler would reject first.
    rl.question(question, (answer) => {
      if (secret) process.stderr.write("\n");
      resolve(answer);
      rl.close();
    });
    muted = secret;
    rl.on("SIGINT", () => {
      reject(new Error("login cancelled"));
      rl.close();
    });
    rl.on("close", () => reject(new Error("no answer (end of input)")));
  });
}
