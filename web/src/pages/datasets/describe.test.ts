import { describe, expect, it } from "vitest";
import { datasetSource, describeSettings, displayToken, highlightParts, parseSettingsDraft, tokenColor, TOKEN_COLORS } from "./describe";
import { makeDataset } from "./fixtures";

describe("dataset helpers", () => {
  it("says where a dataset came from", () => {
    expect(datasetSource(makeDataset())).toBe("example: shakespeare");
    expect(datasetSource(makeDataset({ source: "hub", repo_id: "o/imdb", config: "plain", split: "test" }))).toBe("o/imdb · plain · test");
    expect(datasetSource(makeDataset({ source: "hub", repo_id: "o/imdb", config: "default" }))).toBe("o/imdb");
    expect(datasetSource(makeDataset({ source: "import", source_path: "/data/x.jsonl" }))).toBe("/data/x.jsonl");
    expect(datasetSource(makeDataset({ source: "upload", source_path: "a.txt, b.txt" }))).toBe("upload: a.txt, b.txt");
  });

  it("summarizes tokenization settings in one line", () => {
    const base = { max_length: 512, packing: false, bos_per_sequence: true, stride: 0, min_length: 1, add_special_tokens: true };
    expect(describeSettings(base)).toBe("max 512 · truncate");
    expect(describeSettings({ ...base, packing: true, stride: 64, min_length: 8, add_special_tokens: false })).toBe(
      "max 512 · packed, BOS each · stride 64 · min 8 · no specials",
    );
    expect(describeSettings({ ...base, packing: true, bos_per_sequence: false })).toBe("max 512 · packed");
  });

  it("makes whitespace in tokens visible", () => {
    expect(displayToken("Ġthe")).toBe("·the");
    expect(displayToken("▁the")).toBe("·the");
    expect(displayToken("Ġ")).toBe("␣");
    expect(displayToken("ĠĠ")).toBe("␣␣");
    expect(displayToken("Ċ")).toBe("↵");
    expect(displayToken("a\tb")).toBe("a⇥b");
    expect(displayToken("")).toBe("∅");
    expect(displayToken("<s>")).toBe("<s>");
  });

  it("cycles token colours so neighbours differ", () => {
    expect(tokenColor(0)).not.toBe(tokenColor(1));
    expect(tokenColor(TOKEN_COLORS.length)).toBe(tokenColor(0));
  });

  it("checks the settings draft with the server's rules", () => {
    expect(parseSettingsDraft({ max_length: "128", stride: "", min_length: "" })).toEqual({
      values: { max_length: 128, stride: 0, min_length: 1 },
      errors: {},
    });
    const bad = parseSettingsDraft({ max_length: "0", stride: "-1", min_length: "x" });
    expect(bad.values).toBeNull();
    expect(Object.keys(bad.errors).sort()).toEqual(["max_length", "min_length", "stride"]);
    expect(parseSettingsDraft({ max_length: "64", stride: "64", min_length: "1" }).errors.stride).toMatch(/smaller/);
    expect(parseSettingsDraft({ max_length: "2000000", stride: "0", min_length: "1" }).errors.max_length).toBeDefined();
  });

  it("splits text around case-insensitive matches", () => {
    expect(highlightParts("Wherefore art thou? wherefore", "WHEREFORE")).toEqual([
      { text: "Wherefore", match: true },
      { text: " art thou? ", match: false },
      { text: "wherefore", match: true },
    ]);
    expect(highlightParts("abc", "")).toEqual([{ text: "abc", match: false }]);
    expect(highlightParts("abc", "x")).toEqual([{ text: "abc", match: false }]);
  });
});
