import { describe, expect, it } from "vitest";
import type { SteeringMetrics, SweepPoint } from "../../api/steering";
import { parseStrengths } from "./draft";
import { sweepMetrics, sweepRows } from "./sweep";

const metrics = (kl: number, shift: number): SteeringMetrics => ({
  kl_per_position: [kl], kl_mean: kl, perplexity_baseline: 3, perplexity_steered: 3 + kl, word_overlap: 1 - kl / 10,
  token_shifts: [{ token: "king", token_id: 5, baseline_next: 0.1, steered_next: 0.1 + shift, mean_shift: shift }],
  feature_activations: [{ hook_point: "blocks.1.resid_post", feature: 3, baseline_mean: 0, baseline_max: 0, steered_mean: kl, steered_max: kl }],
});
const point = (strength: number, kind: "intervention" | "random", kl: number): SweepPoint => ({
  strength, kind, run: { text: "x", tokens: 1, finish_reason: "length" }, metrics: metrics(kl, kl / 100),
});

describe("sweep rows", () => {
  const points = [point(4, "intervention", 2), point(0, "intervention", 0), point(4, "random", 0.5), point(0, "random", 0)];

  it("puts the intervention and the random control of a strength in one row, by strength", () => {
    const kl = sweepMetrics(points).find((m) => m.key === "kl_mean")!;
    expect(sweepRows(points, kl)).toEqual([
      { strength: 0, intervention: 0, random: 0 },
      { strength: 4, intervention: 2, random: 0.5 },
    ]);
  });

  it("offers the named tokens' shifts and the features' activations", () => {
    const keys = sweepMetrics(points).map((m) => m.label);
    expect(keys).toContain('Mean probability shift of "king"');
    expect(keys).toContain("Feature #3 mean activation");
    const feature = sweepMetrics(points).find((m) => m.key === "feature_0")!;
    expect(sweepRows(points, feature)[1]).toEqual({ strength: 4, intervention: 2, random: 0.5 });
  });
});

describe("parseStrengths", () => {
  it("reads a list or a start:stop:count range", () => {
    expect(parseStrengths("0, 2, 4 8")).toEqual([0, 2, 4, 8]);
    expect(parseStrengths("0:8:5")).toEqual([0, 2, 4, 6, 8]);
    expect(parseStrengths("-1:1:3")).toEqual([-1, 0, 1]);
  });

  it("says what to write for anything else", () => {
    expect(parseStrengths("")).toMatch(/give the strengths/);
    expect(parseStrengths("1, two")).toMatch(/numbers separated by commas/);
    expect(parseStrengths("0:8:1")).toMatch(/2–64 points/);
  });
});
