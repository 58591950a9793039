/** Asks questions on the terminal; a secret is read without echo (what is typed is not shown). */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { PromptError, type Prompter, type PromptRequest } from "../cluster/prompts";

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

/**
 * The SSH login's questions (password, Duo passcode, key passphrase) asked right here, for the
 * commands that connect to the cluster themselves (init, env, doctor).
 */
export class TerminalPrompter implements Prompter {
  async ask(req: PromptRequest): Promise<string[]> {
    if (req.instructions.trim()) process.stderr.write(`${req.instructions.trim()}\n`);
    const answers: string[] = [];
    for (const p of req.prompts) {
      try {
        answers.push(await askOnTerminal(p.prompt, !p.echo));
      } catch (err) {
        throw new PromptError(
          "PROMPT_CANCELLED",
          `the login to ${req.target} was not answered: ${(err as Error).message}`,
        );
      }
    }
    return answers;
  }
}
