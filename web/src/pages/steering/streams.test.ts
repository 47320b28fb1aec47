import { describe, expect, it } from "vitest";
import { applyToken, parseSweepRun, steeredMask, sweepRunName, textOf, tokensOf } from "./streams";

describe("streams", () => {
  it("keeps each run's tokens by index, whatever order they arrive in", () => {
    let streams = applyToken({}, { run: "baseline", index: 0, text: "The" });
    streams = applyToken(streams, { run: "steered", index: 1, text: " queen" });
    streams = applyToken(streams, { run: "steered", index: 0, text: "The" });
    streams = applyToken(streams, { run: "baseline", index: 1, text: " king" });
    streams = applyToken(streams, { run: "baseline", index: 1, text: " king" }); // repeated: same place
    expect(textOf(streams, "baseline")).toBe("The king");
    expect(textOf(streams, "steered")).toBe("The queen");
    expect(tokensOf(streams, "random@4")).toEqual([]);
  });

  it("reads holes as nothing until their token arrives", () => {
    const streams = applyToken({}, { run: "steered", index: 2, text: "!" });
    expect(tokensOf(streams, "steered")).toEqual(["", "", "!"]);
  });

  it("names sweep runs as the server does and parses them back", () => {
    expect(sweepRunName("intervention", 4)).toBe("intervention@4");
    expect(sweepRunName("random", 0.5)).toBe("random@0.5");
    expect(sweepRunName("intervention", -2.25)).toBe("intervention@-2.25");
    expect(sweepRunName("intervention", 1e-5)).toBe("intervention@1e-05");
    expect(sweepRunName("intervention", 1234567)).toBe("intervention@1.23457e+06");
    expect(parseSweepRun("random@1e-05")).toEqual({ kind: "random", strength: 1e-5 });
    expect(parseSweepRun("baseline")).toBeNull();
  });

  it("marks the steered tokens by the intervention's positions", () => {
    expect(steeredMask(3, "all", null)).toEqual([true, true, true]);
    expect(steeredMask(2, "generated", null)).toEqual([true, true]);
    expect(steeredMask(2, "prompt", 5)).toEqual([false, false]);
    expect(steeredMask(3, 6, 5)).toEqual([false, true, true]);
    expect(steeredMask(3, 6, null)).toBeNull();
  });
});
