/** Shell-like splitting of one magic line. Pure. */
import { describeUnsafeCharacter, findUnsafeCharacter } from "../jobs/script-characters";
import { MagicError } from "./types";

export interface TokenizeOptions {
  /**
   * Where `#` starts a comment (outside quotes):
   * - `"word"` (default): at the start of a word, as in a shell (`--mem 8G  # more later`);
   * - `"anywhere"`: anywhere, as sbatch reads `#SBATCH` lines (`--job-name=a#b` is `a`);
   * - `"none"`: never.
   */
  comments?: "word" | "anywhere" | "none";
  /** Names the line in messages, e.g. `%%slurm`. */
  source?: string;
}

/**
 * Splits a line into words like a shell: whitespace separates; `'...'` is literal; `"..."`
 * honours `\"` and `\\`; outside quotes a backslash takes the next character as is. Nothing is
 * expanded (`$HOME` stays `$HOME`).
 * @throws MagicError naming an unclosed quote, a trailing backslash or a character such as U+2028.
 */
export function tokenize(line: string, opts: TokenizeOptions = {}): string[] {
  const comments = opts.comments ?? "word";
  const where = opts.source ? ` in ${opts.source}` : "";
  // Line breaks separate words (option text from the configuration may span lines); any other
  // control or invisible character is refused (see script-characters.ts).
  const bad = findUnsafeCharacter(line.replace(/[\n\r]/g, " "));
  if (bad)
    throw new MagicError(
      `${describeUnsafeCharacter(line, bad)}${where}: delete that character (type a plain space if it was meant as one)`,
    );
  const words: string[] = [];
  let word: string | undefined; // undefined: between words ("" is a word: '')
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "#" && (comments === "anywhere" || (comments === "word" && word === undefined))) {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new MagicError(`unclosed ' (single quote)${where}: close it or escape it with \\'`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = "";
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const next = line[j + 1];
        if (line[j] === "\\" && (next === '"' || next === "\\")) {
          text += next;
          j++;
        } else {
          text += line[j];
        }
      }
      if (j >= line.length)
        throw new MagicError(`unclosed " (double quote)${where}: close it or escape it with \\"`);
      word = (word ?? "") + text;
      i = j;
    } else if (c === "\\") {
      if (i + 1 >= line.length)
        throw new MagicError(`a lone \\ at the end of the line${where}: remove it or write \\\\`);
      word = (word ?? "") + line[++i];
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
