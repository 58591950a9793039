/**
 * Questions the SSH login asks a person (password, Duo passcode, key passphrase). The transport
 * asks a Prompter; the server's broker routes each question to whoever can answer it — the
 * notebook (input_request on the stdin channel) or `alpine-kernel login` — and never logs answers.
 */
import { ClusterError } from "../errors";

export interface Prompt {
  prompt: string;
  /** false for secrets: the frontend hides what is typed. */
  echo: boolean;
}

export interface PromptRequest {
  kind: "keyboard-interactive" | "passphrase";
  /** user@host, so a person knows what they are logging in to. */
  target: string;
  name: string;
  instructions: string;
  prompts: Prompt[];
}

export interface Prompter {
  /** One answer per prompt, in order; rejects with PromptError when nobody answers in time or it was cancelled. */
  ask(req: PromptRequest): Promise<string[]>;
}

export class PromptError extends ClusterError {}

export interface PendingPrompt {
  id: string;
  request: PromptRequest;
  created: string;
}

/** Something that can put questions to a person; it answers through the hub. */
export interface PromptResponder {
  offer(prompt: PendingPrompt): void;
}

/** Where sessions (notebooks) and `alpine-kernel login` pick up login prompts and answer them. */
export interface PromptHub {
  subscribe(responder: PromptResponder): () => void;
  /** True when this answered the prompt; false when another answer came first. */
  answer(id: string, answers: string[]): boolean;
  /** Withdraws a waiting prompt (the person pressed Stop): its login fails with PROMPT_CANCELLED. */
  cancel(id: string, reason: string): boolean;
}
