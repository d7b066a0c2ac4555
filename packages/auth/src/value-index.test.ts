import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValueIndex } from "./value-index.js";

/** What `replace` must do, the slow way: every character covered by any value is replaced, runs merged. */
function naiveReplace(values: readonly string[], text: string, replacement: string): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const value of values) {
    if (value.length < 4) continue;
    for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
      for (let i = at; i < at + value.length; i++) covered[i] = true;
    }
  }
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += replacement;
  }
  return out;
}

describe("ValueIndex", () => {
  it.each([
    { values: ["abcd"], text: "xxabcdxx", expected: "xx#xx" },
    { values: ["abcdef", "defghi"], text: "abcdefghi", expected: "#" },
    { values: ["abcd", "efgh"], text: "abcdefgh", expected: "#" },
    { values: ["abcd", "abcdefghijkl"], text: "abcdefghijkl!", expected: "#!" },
    { values: ["abcdefghijkl"], text: "abcdefghijk", expected: "abcdefghijk" },
    { values: ["ab"], text: "ab ab", expected: "ab ab" },
    { values: ["🔑🔑🔑"], text: "key=🔑🔑🔑.", expected: "key=#." },
  ])("replaces $values in $text", ({ values, text, expected }) => {
    const index = new ValueIndex();
    for (const value of values) index.add(value);
    expect(index.replace(text, "#")).toBe(expected);
  });

  it("finds every value among thousands that share a long prefix, and forgets removed ones", () => {
    const index = new ValueIndex();
    const values = Array.from({ length: 5000 }, (_, i) => `ghp_000000000000000000${i.toString(36)}zz`);
    for (const value of values) index.add(value);
    expect(index.replace(`a ${values[4321]} b`, "#")).toBe("a # b");
    index.add(values[4321] as string);
    index.delete(values[4321] as string);
    expect(index.replace(`a ${values[4321]} b`, "#")).toBe("a # b");
    index.delete(values[4321] as string);
    expect(index.replace(`a ${values[4321]} b`, "#")).toBe(`a ${values[4321]} b`);
    for (const value of values) index.delete(value);
    expect(index.size).toBe(0);
    expect(index.replace(`a ${values[7]} b`, "#")).toBe(`a ${values[7]} b`);
  });

  it("agrees with the slow way on random values and texts, through additions and removals", () => {
    const chars = fc.constantFrom(..."abcab+/=%\u00e9\ud83d\ude00");
    const word = fc.string({ unit: chars, minLength: 1, maxLength: 14 });
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(word, { maxLength: 12 }),
        (values, removals, pieces) => {
          const index = new ValueIndex();
          for (const value of values) index.add(value);
          const kept = [...values];
          for (const r of removals) {
            if (kept.length === 0) break;
            const [removed] = kept.splice(r % kept.length, 1);
            index.delete(removed as string);
          }
          const text = pieces.join("");
          expect(index.replace(text, "#")).toBe(naiveReplace(kept, text, "#"));
        },
      ),
      { numRuns: 400 },
    );
  });
});
