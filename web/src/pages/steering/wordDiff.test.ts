import { describe, expect, it } from "vitest";
import { splitWords, wordDiff } from "./wordDiff";

const render = (parts: { text: string; changed: boolean }[]) => parts.map((p) => (p.changed ? `[${p.text}]` : p.text)).join("");

describe("wordDiff", () => {
  it("marks nothing when both texts are the same, and keeps every character", () => {
    const diff = wordDiff("the king walks", "the king walks");
    expect(render(diff.baseline)).toBe("the king walks");
    expect(render(diff.steered)).toBe("the king walks");
    expect(diff.shared).toBe(1);
  });

  it("marks the replaced word on each side", () => {
    const diff = wordDiff("the king walks by the river", "the queen walks by the river");
    expect(render(diff.baseline)).toBe("the [king] walks by the river");
    expect(render(diff.steered)).toBe("the [queen] walks by the river");
    expect(diff.shared).toBeCloseTo(5 / 6);
  });

  it("joins neighbouring changed words into one run that ends at a word", () => {
    const diff = wordDiff("a b c d", "a x y d ");
    expect(render(diff.steered)).toBe("a [x y] d ");
    expect(render(diff.baseline)).toBe("a [b c] d");
  });

  it("ignores differences in whitespace and handles empty texts", () => {
    expect(render(wordDiff("one  two", "one two").baseline)).toBe("one  two");
    const empty = wordDiff("", "");
    expect(empty.baseline).toEqual([]);
    expect(empty.shared).toBe(1);
    const added = wordDiff("", "new words");
    expect(render(added.steered)).toBe("[new words]");
    expect(added.shared).toBe(0);
  });

  it("keeps newlines as they were generated", () => {
    expect(splitWords("a\n\nb c")).toEqual(["a", "\n\n", "b", " ", "c"]);
    expect(render(wordDiff("a\nb", "a\nc").steered)).toBe("a\n[c]");
  });
});
