/** History search globs: SQLite GLOB semantics, and no pattern can make a search take exponential time. */
import fc from "fast-check";
import { compileGlob } from "../../../src/session/glob";
import { FUZZ } from "../../helpers/fuzz";

const matches = (pattern: string, text: string) => compileGlob(pattern).test(text);

describe("glob semantics (as SQLite's GLOB, which IPython's history search uses)", () => {
  test.each([
    ["print*", "print(x)", true],
    ["print*", "x = 1\nprint(x)", false],
    ["*print*", "x = 1\nprint(x)", true], // * crosses newlines
    ["?", "\n", true],
    ["?", "😀", true], // one code point, two UTF-16 units
    ["??", "😀", false],
    ["x.sum()", "x.sum()", true],
    ["x.sum()", "xxsum()", false], // . ( ) are literal
    ["x[0-9]", "x7", true],
    ["x[0-9]", "x[0-9]", false],
    ["x[^0-9]", "xa", true],
    ["x[^0-9]", "x7", false],
    ["[]]", "]", true], // ] first in a set is literal
    ["[a-]", "-", true],
    ["print(x[", "print(x[", true], // an unclosed [ is literal
    ["Print*", "print(x)", false], // case-sensitive
    ["", "", true],
    ["", "x", false],
    ["*", "", true],
    ["a**b", "ab", true],
    ["*a*b", "xaxxb", true],
    ["*a*b", "xaxxbx", false],
  ])("%j against %j: %s", (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected);
  });
});

/** A pattern as tokens, rendered both as a glob and as the equivalent (backtracking) regular expression. */
type Tok = { glob: string; re: string };
const literal = fc.constantFrom<Tok>(
  { glob: "a", re: "a" },
  { glob: "b", re: "b" },
  { glob: "\n", re: "\\n" },
  { glob: "😀", re: "😀" },
  { glob: ".", re: "\\." },
);
const token = fc.oneof(
  literal,
  fc.constantFrom<Tok>(
    { glob: "*", re: "[^]*" },
    { glob: "?", re: "[^]" },
    { glob: "[ab]", re: "[ab]" },
    { glob: "[^a]", re: "[^a]" },
    { glob: "[a-b]", re: "[a-b]" },
  ),
);
const text = fc.array(fc.constantFrom("a", "b", "\n", "😀", "."), { maxLength: 12 }).map((a) => a.join(""));

describe("glob properties", () => {
  test("agrees with the equivalent regular expression", () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), text, (toks, t) => {
        const expected = new RegExp(`^${toks.map((x) => x.re).join("")}$`, "u").test(t);
        expect(matches(toks.map((x) => x.glob).join(""), t)).toBe(expected);
      }),
      FUZZ,
    );
  });

  test("long segments (over 32 characters: several words of shift-and state) agree too", () => {
    const segment = fc.array(fc.constantFrom<Tok>({ glob: "a", re: "a" }, { glob: "?", re: "[^]" }), {
      minLength: 30,
      maxLength: 70,
    });
    const star: Tok = { glob: "*", re: "[^]*" };
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.array(fc.constantFrom("a", "a", "a", "b"), { maxLength: 200 }),
        (segs, anchored, chars) => {
          const toks = segs.flatMap((s, i) => (i > 0 || !anchored ? [star, ...s] : s)).concat(star);
          const t = chars.join("");
          const expected = new RegExp(`^${toks.map((x) => x.re).join("")}$`, "u").test(t);
          expect(matches(toks.map((x) => x.glob).join(""), t)).toBe(expected);
        },
      ),
      FUZZ,
    );
  });

  test("a pattern matches the text it was made from, with any characters turned into stars", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), fc.array(fc.boolean()), (t, starred) => {
        const chars = Array.from(t).filter((c) => !"*?[".includes(c));
        const pattern = chars.map((c, i) => (starred[i] ? "*" : c)).join("");
        expect(matches(pattern, chars.join(""))).toBe(true);
      }),
      FUZZ,
    );
  });
});

describe("regression: one history search froze the server (issue 10, defect 4)", () => {
  // With the old regular expression, 6 stars against 60 characters took ~5 s and 8 stars against
  // 100 characters over 100 s; these finish in milliseconds, within the test's own timeout.
  test.each([
    ["*a*a*a*a*a*a*b", "a".repeat(60)],
    ["*a*a*a*a*a*a*a*a*b", "a".repeat(100)],
    [`${"*a".repeat(50)}*b`, "a".repeat(200_000)],
    [`*${"a".repeat(1000)}b*`, "a".repeat(20_000)],
  ])(
    "%#: %s",
    (pattern, t) => {
      expect(matches(pattern, t)).toBe(false);
      expect(matches(pattern, `${t}b`)).toBe(true);
    },
    5000,
  );
});
