/**
 * Characters an option line must not hold. sbatch reads `#SBATCH` lines split at `\n` and words
 * split at ASCII white space; JavaScript's `.` stops at U+2028/U+2029 and `\r`; Python's
 * `str.splitlines` breaks at those and at `\v`, `\f`, U+001C–U+001E and U+0085; no-break and
 * zero-width spaces look like spaces or nothing at all. A line holding any of them means different
 * things to different readers — before, an `#SBATCH --mem=64G` line with a U+2028 in it was
 * silently taken for a comment and the job ran without the memory asked for. So such a line is
 * refused, naming the character, never guessed at. These characters usually come with text
 * copied from a web page, a PDF or a chat message.
 */

const NAMES: Record<number, string> = {
  0x0b: "LINE TABULATION",
  0x0c: "FORM FEED",
  0x0d: "CARRIAGE RETURN",
  0x1c: "FILE SEPARATOR",
  0x1d: "GROUP SEPARATOR",
  0x1e: "RECORD SEPARATOR",
  0x7f: "DELETE",
  0x85: "NEXT LINE",
  0xa0: "NO-BREAK SPACE",
  0x200b: "ZERO WIDTH SPACE",
  0x200c: "ZERO WIDTH NON-JOINER",
  0x200d: "ZERO WIDTH JOINER",
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x2028: "LINE SEPARATOR",
  0x2029: "PARAGRAPH SEPARATOR",
  0x202f: "NARROW NO-BREAK SPACE",
  0x2009: "THIN SPACE",
  0x2060: "WORD JOINER",
  0x3000: "IDEOGRAPHIC SPACE",
  0xfeff: "ZERO WIDTH NO-BREAK SPACE (byte order mark)",
};

/**
 * Controls (but tab), line and paragraph separators, no-break and zero-width spaces, bidirectional
 * controls (which can make a line display as something else than it is), spaces that are not ASCII.
 */
const UNSAFE_RANGES: readonly (readonly [number, number])[] = [
  [0x00, 0x08],
  [0x0a, 0x1f],
  [0x7f, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200f],
  [0x2028, 0x202f],
  [0x205f, 0x2064],
  [0x2066, 0x206f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

const unsafe = (code: number): boolean => UNSAFE_RANGES.some(([lo, hi]) => code >= lo && code <= hi);

function kind(code: number): string {
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return "a control character";
  if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069))
    return "a bidirectional text control";
  if (code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x205f)
    return "a space that is not ASCII";
  return "an invisible character";
}

export interface UnsafeCharacter {
  /** UTF-16 index in the text. */
  index: number;
  /** "U+2028 (LINE SEPARATOR)". */
  name: string;
}

/** The first character of `text` that an option line must not hold, if any. */
export function findUnsafeCharacter(text: string): UnsafeCharacter | undefined {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index); // every unsafe character is in the BMP
    if (!unsafe(code)) continue;
    const hex = code.toString(16).toUpperCase().padStart(4, "0");
    return { index, name: `U+${hex} (${NAMES[code] ?? kind(code)})` };
  }
  return undefined;
}

/** "U+2028 (LINE SEPARATOR) after `--mem=4G`": what and where, for a message. */
export function describeUnsafeCharacter(text: string, found: UnsafeCharacter): string {
  const before = text.slice(0, found.index).trimStart().slice(-30);
  return `${found.name} ${before ? `after \`${before}\`` : "at the start"}`;
}
