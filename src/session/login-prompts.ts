/**
 * The cluster's login questions (password, Duo passcode) asked in the notebook: while a cell that
 * accepts input runs, each prompt becomes an input_request on its stdin channel (hidden for secrets)
 * and the input_reply goes back to the prompt hub. Answers are passed on, never logged or kept.
 */
import type { PendingPrompt, PromptHub } from "../cluster/prompts";
import { makeMessage } from "../protocol/make-message";
import type { MessageHeader, OutgoingMessage, RawMessage } from "../protocol/messages";

interface Asked {
  prompt: PendingPrompt;
  index: number;
  answers: string[];
  ask: (prompt: PendingPrompt, index: number, answers: string[]) => void;
}

export class LoginPrompts {
  /** input_request msg_id → the login prompt it asks. */
  private readonly asked = new Map<string, Asked>();

  constructor(
    private readonly hub: PromptHub | undefined,
    private readonly session: string,
    private readonly send: (clientId: string, msg: OutgoingMessage) => void,
  ) {}

  /** Offers login prompts to this cell's frontend until the returned function is called. */
  answerIn(clientId: string, parent: MessageHeader): () => void {
    if (!this.hub) return () => {};
    const ask = (prompt: PendingPrompt, index: number, answers: string[]) => {
      const p = prompt.request.prompts[index]!;
      const intro =
        index === 0 && prompt.request.instructions.trim() ? `${prompt.request.instructions.trim()}\n` : "";
      const text = `${intro}${prompt.request.target} — ${p.prompt}`;
      const msg = makeMessage(
        "stdin",
        "input_request",
        { prompt: text, password: !p.echo },
        parent,
        this.session,
      );
      this.asked.set(msg.header.msg_id, { prompt, index, answers, ask });
      this.send(clientId, msg);
    };
    return this.hub.subscribe({ offer: (prompt) => ask(prompt, 0, []) });
  }

  /** Withdraws the login prompts asked here and not answered yet (Stop pressed): their login fails at once. */
  cancel(reason: string): void {
    for (const { prompt } of this.asked.values()) this.hub?.cancel(prompt.id, reason);
    this.asked.clear();
  }

  /** An input_reply answering a login prompt: true when it was one. */
  take(reply: RawMessage): boolean {
    const parentId = (reply.parent_header as Partial<MessageHeader>).msg_id ?? "";
    const entry = this.asked.get(parentId);
    if (!entry) return false;
    this.asked.delete(parentId);
    const answers = [...entry.answers, typeof reply.content.value === "string" ? reply.content.value : ""];
    if (answers.length < entry.prompt.request.prompts.length)
      entry.ask(entry.prompt, entry.index + 1, answers);
    else this.hub?.answer(entry.prompt.id, answers);
    return true;
  }
}
