/**
 * Glob matching for `history_request` searches, with the semantics of SQLite's GLOB (what IPython's
 * history search uses): `*` any run of characters (newlines too), `?` exactly one character, `[abc]`
 * / `[a-z]` / `[^abc]` one character of (or not of) a set, `]` first in a set is literal;
 * everything else literal and case-sensitive; the whole text must match. An unclosed `[` is a
 * literal `[`. Characters are code points, as in Python.
 *
 * Linear in the text: the pattern is cut at its stars into segments of one-character matchers; the
 * first must match at the start, the last at the end, and each one between at its leftmost place
 * after the one before (leftmost is never worse). A segment is found with the bit-parallel
 * shift-and algorithm, one pass over the text for all segments together, about ⌈length/32⌉ word
 * operations per character. A regular expression built from the glob backtracked exponentially in
 * the number of stars instead: `*a*a*a*a*a*a*a*a*b` against 100 characters blocked the server for
 * over 100 s, and with it every kernel it serves.
 */

/** One character of a segment. */
type Matcher = (codePoint: number) => boolean;

/** A compiled glob pattern. */
export interface Glob {
  test(text: string): boolean;
}

export function compileGlob(pattern: string): Glob {
  const segments: Matcher[][] = [[]];
  const cps = Array.from(pattern, (ch) => ch.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x2a /* * */) {
      segments.push([]);
    } else if (c === 0x3f /* ? */) {
      segments.at(-1)!.push(() => true);
    } else {
      const set = c === 0x5b /* [ */ ? parseSet(cps, i + 1) : undefined;
      segments.at(-1)!.push(set?.matches ?? ((x) => x === c));
      if (set) i = set.end;
    }
  }
  if (segments.length === 1) return { test: (text) => matchesAt(segments[0]!, text, 0) === text.length };
  const first = segments[0]!;
  const last = segments.at(-1)!;
  const middle = segments.slice(1, -1).filter((s) => s.length > 0); // ** is *
  const finders = middle.map((s) => new SegmentFinder(s));
  return {
    test(text) {
      const from = matchesAt(first, text, 0);
      const lastStart = backCodePoints(text, text.length, last.length);
      if (from < 0 || lastStart < from || matchesAt(last, text, lastStart) !== text.length) return false;
      let at = from;
      for (const f of finders) {
        at = f.endOfFirst(text, at, lastStart);
        if (at < 0) return false;
      }
      return true;
    },
  };
}

/** The set starting after `[` at `from`; undefined when it is never closed. */
function parseSet(cps: number[], from: number): { matches: Matcher; end: number } | undefined {
  let i = from;
  const negated = cps[i] === 0x5e; /* ^ */
  if (negated) i++;
  const ranges: [number, number][] = [];
  for (let first = true; i < cps.length; i++, first = false) {
    const c = cps[i]!;
    if (c === 0x5d /* ] */ && !first)
      return { matches: (x) => ranges.some(([lo, hi]) => x >= lo && x <= hi) !== negated, end: i };
    const hi = cps[i + 2];
    if (cps[i + 1] === 0x2d /* - */ && hi !== undefined && hi !== 0x5d) {
      ranges.push([c, hi]);
      i += 2;
    } else {
      ranges.push([c, c]);
    }
  }
  return undefined;
}

const width = (text: string, i: number): number => (text.codePointAt(i)! > 0xffff ? 2 : 1);

/** Where `segment`, matched at UTF-16 index `at`, ends; -1 when it does not match there. */
function matchesAt(segment: readonly Matcher[], text: string, at: number): number {
  let i = at;
  for (const m of segment) {
    if (i >= text.length || !m(text.codePointAt(i)!)) return -1;
    i += width(text, i);
  }
  return i;
}

/** The UTF-16 index `count` code points before `end`; -1 when the text is shorter. */
function backCodePoints(text: string, end: number, count: number): number {
  let i = end;
  for (let n = 0; n < count; n++) {
    if (i <= 0) return -1;
    const low = text.charCodeAt(i - 1);
    i -= low >= 0xdc00 && low <= 0xdfff && i >= 2 && text.codePointAt(i - 2)! > 0xffff ? 2 : 1;
  }
  return i;
}

/** Shift-and over 32-bit words: bit j of the state = "the segment's first j+1 matchers match here". */
class SegmentFinder {
  private readonly words: number;
  private readonly masks = new Map<number, Uint32Array>();

  constructor(private readonly segment: readonly Matcher[]) {
    this.words = Math.ceil(segment.length / 32);
  }

  /** Bit j set when the segment's j-th matcher takes code point c (cached per code point). */
  private mask(c: number): Uint32Array {
    let m = this.masks.get(c);
    if (!m) {
      m = new Uint32Array(this.words);
      this.segment.forEach((match, j) => {
        if (match(c)) m![j >>> 5]! |= 1 << (j & 31);
      });
      if (this.masks.size < 4096) this.masks.set(c, m);
    }
    return m;
  }

  /** The end (UTF-16 index) of the segment's leftmost match within [from, limit); -1 if none. */
  endOfFirst(text: string, from: number, limit: number): number {
    const state = new Uint32Array(this.words);
    const lastWord = this.words - 1;
    const lastBit = 1 << ((this.segment.length - 1) & 31);
    for (let i = from; i < limit;) {
      const c = text.codePointAt(i)!;
      const mask = this.mask(c);
      let carry = 1; // a match may start at every character
      for (let w = 0; w < this.words; w++) {
        const s = state[w]!;
        state[w] = ((s << 1) | carry) & mask[w]!;
        carry = s >>> 31;
      }
      i += c > 0xffff ? 2 : 1;
      if (state[lastWord]! & lastBit) return i;
    }
    return -1;
  }
}
