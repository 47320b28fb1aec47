import { describe, expect, it } from "vitest";
import { markedSpans } from "./marks";
import { wordDiff } from "./wordDiff";

describe("markedSpans", () => {
  it("cuts the text at word-diff and token boundaries, keeping every character", () => {
    const diff = wordDiff("the king sat", "the queen sat");
    const tokens = ["the", " que", "en", " sat"];
    const spans = markedSpans(diff.steered, tokens, [false, true, true, true]);
    expect(spans.map((s) => s.text).join("")).toBe("the queen sat");
    expect(spans).toEqual([
      { text: "the", changed: false, steered: false },
      { text: " ", changed: false, steered: true },
      { text: "queen", changed: true, steered: true },
      { text: " sat", changed: false, steered: true },
    ]);
  });

  it("marks no position when the positions cannot be known", () => {
    const diff = wordDiff("a b", "a c");
    const spans = markedSpans(diff.steered, ["a", " c"], null);
    expect(spans.every((s) => !s.steered)).toBe(true);
    expect(spans.filter((s) => s.changed).map((s) => s.text)).toEqual(["c"]);
  });

  it("does not mark text beyond the streamed tokens", () => {
    const diff = wordDiff("x", "x y");
    const spans = markedSpans(diff.steered, ["x"], [true]);
    expect(spans).toEqual([{ text: "x", changed: false, steered: true }, { text: " ", changed: false, steered: false }, { text: "y", changed: true, steered: false }]);
  });
});
