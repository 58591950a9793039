/**
 * Routes the SSH login's questions (password, Duo passcode, key passphrase) to whoever can answer:
 * a notebook whose cell is waiting for the cluster (input_request on its stdin channel) or
 * `alpine-kernel login` on a terminal. The first answer wins. Answers are never logged or stored.
 */
import { randomUUID } from "node:crypto";
import {
  PromptError,
  type PendingPrompt,
  type Prompter,
  type PromptHub,
  type PromptRequest,
  type PromptResponder,
} from "../cluster/prompts";

interface Waiting extends PendingPrompt {
  resolve(answers: string[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PromptBroker implements Prompter, PromptHub {
  private readonly waiting = new Map<string, Waiting>();
  private readonly responders = new Set<PromptResponder>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly timeoutMs: number) {}

  ask(request: PromptRequest): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.changed();
        const what = request.prompts.map((p) => p.prompt.trim()).join(" / ");
        reject(
          new PromptError(
            "PROMPT_TIMEOUT",
            `nobody answered the login prompt "${what}" for ${request.target} within ${Math.round(this.timeoutMs / 1000)} s; ` +
              "run `alpine-kernel login`, or run the cell again and answer in the notebook",
          ),
        );
      }, this.timeoutMs);
      const w: Waiting = { id, request, created: new Date().toISOString(), resolve, reject, timer };
      this.waiting.set(id, w);
      for (const r of this.responders) r.offer(this.public(w));
      this.changed();
    });
  }

  private public(w: Waiting): PendingPrompt {
    return { id: w.id, request: w.request, created: w.created };
  }

  /** Prompts waiting for an answer now. */
  pending(): PendingPrompt[] {
    return [...this.waiting.values()].map((w) => this.public(w));
  }

  /** True when this answered the prompt; false when it was answered already (or timed out). */
  answer(id: string, answers: string[]): boolean {
    const w = this.waiting.get(id);
    if (!w) return false;
    if (answers.length !== w.request.prompts.length) {
      throw new PromptError(
        "BAD_ANSWER",
        `expected ${w.request.prompts.length} answer(s), got ${answers.length}`,
      );
    }
    this.settle(w);
    w.resolve(answers);
    return true;
  }

  cancel(id: string, reason: string): boolean {
    const w = this.waiting.get(id);
    if (!w) return false;
    this.settle(w);
    w.reject(
      new PromptError(
        "PROMPT_CANCELLED",
        `the login was cancelled (${reason}); run \`alpine-kernel login\` to try again`,
      ),
    );
    return true;
  }

  private settle(w: Waiting): void {
    clearTimeout(w.timer);
    this.waiting.delete(w.id);
    this.changed();
  }

  /** A responder is offered every prompt waiting now and every later one, until it unsubscribes. */
  subscribe(r: PromptResponder): () => void {
    this.responders.add(r);
    for (const w of this.waiting.values()) r.offer(this.public(w));
    return () => this.responders.delete(r);
  }

  /** Called whenever prompts appear or go (long polls of `alpine-kernel login`). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}
