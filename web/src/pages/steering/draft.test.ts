import { describe, expect, it } from "vitest";
import { compareBody, watchedTokens, EMPTY_DRAFT, featureItem, parseSteeringQuery, patchFromRequest, sweepBody, type SteeringDraft } from "./draft";

const draft = (patch: Partial<SteeringDraft> = {}): SteeringDraft => ({
  ...EMPTY_DRAFT, modelId: "m1", prompt: "the king", seed: "11", watchTokens: "king, queen ,", ...patch,
});

describe("request bodies", () => {
  it("sends each feature with the positions, its unit's analysis, and ablation at strength 0", () => {
    const body = compareBody(draft({
      analysisId: "a1", positions: "from", fromPosition: "3",
      items: [featureItem("s1", 7, { strength: 2, unit: "max_activation" }), featureItem("s1", 9, { mode: "ablate", strength: 5 })],
    }), "r".repeat(32));
    expect(body.interventions).toEqual([
      { sae_id: "s1", feature: 7, mode: "add", strength: 2, positions: 3, unit: "max_activation", analysis_id: "a1" },
      { sae_id: "s1", feature: 9, mode: "ablate", strength: 0, positions: 3, unit: "absolute", analysis_id: null },
    ]);
    expect(body).toMatchObject({ model_id: "m1", seed: 11, tokens: ["king", "queen"], request_id: "r".repeat(32), use_chat_template: false });
  });

  it("sweeps the first intervention with the random control", () => {
    const body = sweepBody(draft({ items: [featureItem("s1", 3)] }), [0, 4], "x");
    expect(body.intervention).toMatchObject({ sae_id: "s1", feature: 3 });
    expect(body.strengths).toEqual([0, 4]);
    expect(body.random_baseline).toBe(true);
    expect(() => sweepBody(draft(), [1], "x")).toThrow(/add an intervention/);
  });

  it("keeps a quoted watched token's leading space", () => {
    expect(watchedTokens('king, " queen", ""')).toEqual(["king", " queen"]);
  });

  it("a random seed is sent as null", () => {
    expect(compareBody(draft({ seed: " " }), "x").seed).toBeNull();
  });
});

describe("query and stored requests", () => {
  it("reads ?model=&sae=&feature= and ignores a malformed feature", () => {
    expect(parseSteeringQuery(new URLSearchParams("model=m&sae=s&feature=12"))).toEqual({ model: "m", sae: "s", feature: 12 });
    expect(parseSteeringQuery(new URLSearchParams("feature=-1")).feature).toBeNull();
  });

  it("puts a stored sweep request back in the form", () => {
    const { patch, strengths } = patchFromRequest({
      model_id: "m1", prompt: "hello", max_new_tokens: 10, temperature: 0.5, top_p: 0.9, seed: 4, tokens: ["a"],
      use_chat_template: false, strengths: [0, 2],
      intervention: { sae_id: "s1", feature: 3, mode: "clamp", strength: 2, positions: 5, unit: "absolute", analysis_id: null },
    }, () => null);
    expect(strengths).toEqual([0, 2]);
    expect(patch).toMatchObject({ modelId: "m1", prompt: "hello", maxNewTokens: "10", seed: "4", watchTokens: "a", chatTemplate: false,
      saeId: "s1", positions: "from", fromPosition: "5" });
    expect(patch.items).toHaveLength(1);
    expect(patch.items![0]).toMatchObject({ kind: "feature", feature: 3, mode: "clamp", strength: 2 });
  });
});
