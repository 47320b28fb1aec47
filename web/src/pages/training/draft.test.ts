import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { applyPreset, estimateSize, fieldOfError, initialDraft, PRESETS, toRequest, validateDraft, type TrainingDraft } from "./draft";

const HOOKS = ["blocks.1.resid_post", "blocks.1.mlp_out"];
const draft = (over: Partial<TrainingDraft> = {}): TrainingDraft => ({ ...initialDraft(), extractionId: "e1", hookPoint: "blocks.1.resid_post", ...over });
const preset = (id: string) => PRESETS.find((p) => p.id === id)!;

describe("validateDraft", () => {
  it("accepts the first draft once an extraction and hook point are chosen", () => {
    expect(validateDraft(initialDraft(), HOOKS, 64)).toEqual({ extraction_id: "Choose a completed extraction." });
    expect(validateDraft(draft(), HOOKS, 64)).toEqual({});
  });

  it("refuses k larger than the width, as the server does (8 × d 64 = 512 latents)", () => {
    expect(validateDraft(draft({ k: "513" }), HOOKS, 64).k).toBe("At most the width (512 latents).");
    expect(validateDraft(draft({ k: "512" }), HOOKS, 64).k).toBeUndefined();
    expect(validateDraft(draft({ widthMode: "width", width: "16", k: "32" }), HOOKS, 64).k).toBe("At most the width (16 latents).");
    expect(validateDraft(draft({ k: "0" }), HOOKS, 64).k).toBe("A whole number, at least 1.");
  });

  it("wants lr above 0 and at most 1, and a sparsity coefficient only where the architecture has one", () => {
    expect(validateDraft(draft({ lr: "0" }), HOOKS, 64).lr).toBe("A number above 0, at most 1.");
    expect(validateDraft(draft({ lr: "4e-" }), HOOKS, 64).lr).toBe("A number above 0, at most 1.");
    expect(validateDraft(draft({ lr: "3e-4" }), HOOKS, 64).lr).toBeUndefined();
    // topk ignores the coefficient; standard checks it and ignores k.
    expect(validateDraft(draft({ sparsityCoefficient: "-1" }), HOOKS, 64)).toEqual({});
    expect(validateDraft(draft({ architecture: "standard", sparsityCoefficient: "-1", k: "9999" }), HOOKS, 64)).toEqual({
      sparsity_coefficient: "A number from 0 to 1,000,000.",
    });
  });

  it("checks the run's numbers: steps, batch tokens within 2^22, seed, a hook point the extraction has", () => {
    const errors = validateDraft(draft({ steps: "0", batchTokens: String(2 ** 22 + 1), seed: "-1", hookPoint: "blocks.0.attn_out" }), HOOKS, 64);
    expect(errors).toMatchObject({ steps: "At least 1 step.", batch_tokens: "From 1 to 4,194,304 tokens.", seed: expect.any(String) });
    expect(errors.hook_point).toContain("blocks.1.resid_post");
    expect(validateDraft(draft({ lengthMode: "epochs", steps: "" }), HOOKS, 64)).toEqual({});
  });

  it("checks every value of a sweep, and wants 2 to 8 of them", () => {
    expect(validateDraft(draft({ sweepParam: "k", sweepValues: "16, 32, 64" }), HOOKS, 64)).toEqual({});
    expect(validateDraft(draft({ sweepParam: "k", sweepValues: "16" }), HOOKS, 64).sweep).toBe("From 2 to 8 values, e.g. 16, 32, 64.");
    expect(validateDraft(draft({ sweepParam: "k", sweepValues: "16 1024" }), HOOKS, 64).sweep).toBe("Each value: at most the width (512 latents).");
    expect(validateDraft(draft({ sweepParam: "lr", sweepValues: "1e-3, 0" }), HOOKS, 64).sweep).toBe("Each value: a number above 0, at most 1.");
    // A swept k does not need the single k box to be valid.
    expect(validateDraft(draft({ sweepParam: "k", sweepValues: "8,16", k: "" }), HOOKS, 64)).toEqual({});
  });
});

describe("presets", () => {
  it("fill the SAE's settings and keep the data and the run's length", () => {
    const before = draft({ steps: "40", batchTokens: "64" });
    const relu = applyPreset(before, preset("relu-l1-8x"));
    expect(relu).toMatchObject({ architecture: "standard", expansionFactor: "8", sparsityCoefficient: "5", extractionId: "e1", steps: "40", batchTokens: "64" });
    expect(toRequest(relu).saes![0]).toMatchObject({ architecture: "standard", expansion_factor: 8, k: null, sparsity_coefficient: 5 });
    expect(applyPreset(before, preset("jumprelu-8x")).architecture).toBe("jumprelu");
    expect(applyPreset(relu, preset("topk-8x-k32"))).toMatchObject({ architecture: "topk", k: "32", sweepParam: "none" });
  });

  it("the k sweep makes one SAE per k over one run", () => {
    const request = toRequest(applyPreset(draft(), preset("sweep-k")));
    expect(request.saes!.map((s) => [s.architecture, s.k, s.expansion_factor])).toEqual([
      ["topk", 16, 8],
      ["topk", 32, 8],
      ["topk", 64, 8],
    ]);
  });
});

describe("toRequest", () => {
  it("sends steps or tokens (or neither for 2 epochs), a width or an expansion, and no checkpoints when empty", () => {
    const r = toRequest(draft({ steps: "40", batchTokens: "64", logEvery: "10", checkpointEvery: "", targetHookPoint: "blocks.1.mlp_out" }));
    expect(r).toMatchObject({ extraction_id: "e1", hook_point: "blocks.1.resid_post", target_hook_point: "blocks.1.mlp_out", steps: 40, total_tokens: null, batch_tokens: 64, log_every: 10, checkpoint_every: null, name: null });
    expect(r.saes).toEqual([expect.objectContaining({ architecture: "topk", expansion_factor: 8, width: null, k: 32, lr: 0.0004 })]);
    expect(toRequest(draft({ lengthMode: "tokens", totalTokens: "100000" }))).toMatchObject({ steps: null, total_tokens: 100_000 });
    expect(toRequest(draft({ widthMode: "width", width: "1000" })).saes![0]).toMatchObject({ width: 1000, expansion_factor: null });
  });
});

describe("fieldOfError", () => {
  it("places a 400's field and a 422's body field next to the form's field; a swept one on the sweep", () => {
    const bad400 = new ApiError(400, "invalid_input", "saes[0].k (64) is larger than the width", { field: "saes[0].k", max: 16 });
    expect(fieldOfError(bad400)).toBe("k");
    expect(fieldOfError(bad400, "k")).toBe("sweep");
    const bad422 = new ApiError(422, "validation_error", "invalid request", [{ field: "body.saes.0.lr", message: "greater than 0" }]);
    expect(fieldOfError(bad422)).toBe("lr");
    expect(fieldOfError(new ApiError(400, "invalid_input", "too big", { field: "batch_tokens", max: 100 }))).toBe("batch_tokens");
    expect(fieldOfError(new ApiError(400, "invalid_input", "prefixes", { field: "matryoshka_prefixes" }))).toBeNull();
    expect(fieldOfError(new Error("x"))).toBeNull();
  });
});

describe("estimateSize", () => {
  it("counts 2·d·width weights plus biases per SAE, 16 bytes each for training, and the tokens of the run", () => {
    const size = estimateSize(draft({ steps: "100", batchTokens: "4096" }), 64)!;
    expect(size.parameters).toEqual([2 * 64 * 512 + 512 + 64]);
    expect(size.trainingBytes).toBe(size.totalParameters * 16);
    expect(size.tokens).toBe(409_600);
    expect(estimateSize(draft({ sweepParam: "expansion_factor", sweepValues: "4, 8" }), 64)!.parameters).toEqual([2 * 64 * 256 + 256 + 64, 2 * 64 * 512 + 512 + 64]);
    expect(estimateSize(draft(), null)).toBeNull();
  });
});
