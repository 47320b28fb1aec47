import { describe, expect, it } from "vitest";
import { describeLayers, everyNth, formatLayerSpec, parseLayerSpec } from "./layers";

describe("parseLayerSpec", () => {
  it("reads ranges and single layers, sorted and without repeats", () => {
    expect(parseLayerSpec("3-6,15", 30)).toEqual({ layers: [3, 4, 5, 6, 15], error: null });
    expect(parseLayerSpec(" 29, 3 - 4 ,3,0 ", 30)).toEqual({ layers: [0, 3, 4, 29], error: null });
    expect(parseLayerSpec("", 30)).toEqual({ layers: [], error: null });
    expect(parseLayerSpec("5,", 30)).toEqual({ layers: [5], error: null });
  });

  it("says what is wrong with a bad spec", () => {
    expect(parseLayerSpec("3-x", 30).error).toMatch(/"3-x" is not a layer or range/);
    expect(parseLayerSpec("6-3", 30).error).toMatch(/low to high/);
    expect(parseLayerSpec("2,30", 30).error).toBe("layer 30 is out of range: this model has layers 0-29");
    expect(parseLayerSpec("-1", 30).layers).toBeNull();
  });
});

describe("formatLayerSpec", () => {
  it("writes the shortest spec, and parses back to the same layers", () => {
    expect(formatLayerSpec([15, 3, 4, 5, 6])).toBe("3-6,15");
    expect(formatLayerSpec([0, 2, 4])).toBe("0,2,4");
    expect(formatLayerSpec([])).toBe("");
    const layers = [0, 1, 2, 7, 9, 10, 29];
    expect(parseLayerSpec(formatLayerSpec(layers), 30).layers).toEqual(layers);
  });
});

describe("everyNth", () => {
  it("takes every Nth layer from the first", () => {
    expect(everyNth(4, 12)).toEqual([0, 4, 8]);
    expect(everyNth(1, 3)).toEqual([0, 1, 2]);
    expect(everyNth(5, 30, 2)).toEqual([2, 7, 12, 17, 22, 27]);
    expect(everyNth(0, 12)).toEqual([]);
    expect(everyNth(2.5, 12)).toEqual([]);
  });

  it("labels a selection compactly", () => {
    expect(describeLayers([6])).toBe("L6");
    expect(describeLayers([3, 4, 5, 6, 15])).toBe("L3-6,15 (5)");
    expect(describeLayers([])).toBe("no layer");
  });
});
