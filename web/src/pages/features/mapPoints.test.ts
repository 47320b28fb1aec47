import { describe, expect, it } from "vitest";
import { correlationColour, DEAD_COLOUR, labelColour, MISSING_COLOUR, nearestPoint, parseLatentList, pointColours, ramp, toPixels } from "./mapPoints";

const MAP = {
  frequency: [0.001, 0.01, 0.1, 0],
  label: ["a", null, "c", null],
  label_score: [1, null, 0.5, null],
  dead: [false, false, false, true],
};

describe("pointColours", () => {
  it("spreads frequency on a log scale, lowest blue to highest amber, dead grey", () => {
    expect(pointColours(MAP, "frequency")).toEqual([ramp(0), ramp(0.5), ramp(1), DEAD_COLOUR]);
  });
  it("colours label score from chance (0.5) to perfect, unscored grey", () => {
    expect(pointColours(MAP, "label_score")).toEqual([ramp(1), MISSING_COLOUR, ramp(0), DEAD_COLOUR]);
  });
  it("gives latents that share a label one hue, whatever its case and spacing", () => {
    const colours = pointColours({ ...MAP, label: ["King", null, " king ", null] }, "label");
    expect(colours[0]).toBe(colours[2]);
    expect(colours[0]).toBe(labelColour("king"));
    expect(labelColour("river")).not.toBe(labelColour("king"));
    expect(colours[1]).toBe(MISSING_COLOUR);
  });
  it("marks labelled latents", () => {
    expect(pointColours(MAP, "labelled")).toEqual([ramp(1), MISSING_COLOUR, ramp(1), DEAD_COLOUR]);
  });
});

describe("toPixels and nearestPoint", () => {
  const view = { width: 200, height: 100, padding: 10 };
  it("fits the points with one scale on both axes, y up, centred", () => {
    const { px, py } = toPixels([0, 1, 2], [0, 1, 0], view);
    // span 2 × 1 into 180 × 80: scale 80 (the y limit), x centred in 200
    expect(Array.from(px)).toEqual([20, 100, 180]);
    expect(Array.from(py)).toEqual([90, 10, 90]);
  });
  it("finds the closest point within the radius, none beyond it", () => {
    const { px, py } = toPixels([0, 1, 2], [0, 1, 0], view);
    expect(nearestPoint(px, py, 97, 14, 8)).toBe(1);
    expect(nearestPoint(px, py, 60, 50, 8)).toBeNull();
  });
});

describe("correlationColour", () => {
  it("is red for positive, blue for negative, grey for not stored", () => {
    expect(correlationColour(1)).toBe("rgba(239, 68, 68, 1)");
    expect(correlationColour(-0.5)).toBe("rgba(59, 130, 246, 0.55)");
    expect(correlationColour(null)).toBe("#27272a");
  });
});

describe("parseLatentList", () => {
  it("reads commas and spaces, keeps order, drops repeats", () => {
    expect(parseLatentList("5, 1 5,9", 10, 64)).toEqual({ latents: [5, 1, 9] });
  });
  it("names the bad entry, the range and the cap", () => {
    expect(parseLatentList("1,x", 10, 64)).toEqual({ error: "“x” is not a latent index." });
    expect(parseLatentList("1,10", 10, 64)).toEqual({ error: "Latent 10 is out of range: 0 to 9." });
    expect(parseLatentList("1,2,3", null, 2)).toEqual({ error: "At most 2 latents; got 3." });
    expect(parseLatentList(" ", 10, 64)).toHaveProperty("error");
  });
});
