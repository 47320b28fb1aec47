import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { applyPreset, initialDraft, PRESETS, validateDraft, type TrainingDraft } from "./draft";
import { fieldOfError, toRequest } from "./request";

const HOOKS = ["blocks.1.resid_post", "blocks.1.mlp_out"];
const draft = (over: Partial<TrainingDraft> = {}): TrainingDraft => ({ ...initialDraft(), extractionId: "e1", hookPoint: "blocks.1.resid_post", ...over });
const stream = (over: Partial<TrainingDraft> = {}): TrainingDraft =>
  draft({ source: "stream", modelId: "m1", datasetId: "d1", tokenizationId: "t1", ...over });
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
    // Hook points: names the source has, one SAE each.
    expect(validateDraft(draft({ sweepParam: "hook_point", sweepValues: "blocks.1.resid_post, blocks.1.mlp_out" }), HOOKS, 64)).toEqual({});
    expect(validateDraft(draft({ sweepParam: "hook_point", sweepValues: "blocks.1.resid_post" }), HOOKS, 64).sweep).toBe("From 2 to 8 values, e.g. 16, 32, 64.");
    expect(validateDraft(draft({ sweepParam: "hook_point", sweepValues: "blocks.1.resid_post blocks.0.attn_out" }), HOOKS, 64).sweep).toBe(
      "blocks.0.attn_out is not a hook point of this extraction.",
    );
    // A swept k does not need the single k box to be valid.
    expect(validateDraft(draft({ sweepParam: "k", sweepValues: "8,16", k: "" }), HOOKS, 64)).toEqual({});
  });
});

describe("validateDraft of a streamed run", () => {
  it("wants a model, a dataset and its tokenization, a power-of-2 forward batch and an optional sample count", () => {
    expect(validateDraft(stream(), HOOKS, 64)).toEqual({});
    expect(validateDraft(stream({ modelId: "", datasetId: "", hookPoint: "" }), null, null)).toEqual({ model_id: "Choose a ready model.", dataset_id: "Choose a dataset." });
    expect(validateDraft(stream({ tokenizationId: "" }), HOOKS, 64)).toEqual({ tokenization_id: "Choose a ready tokenization of the dataset." });
    expect(validateDraft(stream({ forwardBatchSize: "12" }), HOOKS, 64).forward_batch_size).toBe("A power of 2 from 1 to 4,096.");
    expect(validateDraft(stream({ forwardBatchSize: "8192" }), HOOKS, 64).forward_batch_size).toBe("A power of 2 from 1 to 4,096.");
    expect(validateDraft(stream({ maxSamples: "0" }), HOOKS, 64).max_samples).toBe("At least 1 sequence, or empty for all.");
    expect(validateDraft(stream({ hookPoint: "blocks.9.resid_post" }), HOOKS, 64).hook_point).toBe("Not a hook point of the model.");
  });

  it("does not ask for an extraction", () => {
    expect(validateDraft(stream({ extractionId: "" }), HOOKS, 64)).toEqual({});
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

  it("sends the stream (model, tokenization, format, forward batch) instead of an extraction for a streamed run", () => {
    const r = toRequest(stream({ format: "bf16", forwardBatchSize: "16", maxSamples: "200" }));
    expect(r.extraction_id).toBeNull();
    expect(r.stream).toEqual({ model_id: "m1", dataset_id: "d1", tokenization_id: "t1", format: "bf16", forward_batch_size: 16, max_samples: 200 });
    expect(toRequest(stream()).stream!.max_samples).toBeNull();
    expect(toRequest(draft()).stream).toBeNull();
  });

  it("a hook point sweep puts one SAE on each hook point (the run's is the first) and makes no transcoder", () => {
    const r = toRequest(draft({ sweepParam: "hook_point", sweepValues: "blocks.1.mlp_out, blocks.1.resid_post", targetHookPoint: "blocks.1.mlp_out" }));
    expect(r).toMatchObject({ hook_point: "blocks.1.mlp_out", target_hook_point: null });
    expect(r.saes!.map((s) => [s.hook_point, s.target_hook_point, s.k])).toEqual([
      ["blocks.1.mlp_out", null, 32],
      ["blocks.1.resid_post", null, 32],
    ]);
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

  it("places a streamed source's refusals, named by the extraction's rules, on the stream's fields", () => {
    expect(fieldOfError(new ApiError(400, "invalid_input", "batch", { field: "batch_size", max: 1024 }))).toBe("forward_batch_size");
    expect(fieldOfError(new ApiError(400, "invalid_input", "no such layer", { field: "layers", max: 1 }))).toBe("hook_point");
    expect(fieldOfError(new ApiError(409, "conflict", "not ready", { field: "tokenization_id" }))).toBe("tokenization_id");
    expect(fieldOfError(new ApiError(422, "validation_error", "bad", [{ field: "body.stream.forward_batch_size", message: "too big" }]))).toBe("forward_batch_size");
    // One SAE's hook point of a hook point sweep: on the sweep's values.
    expect(fieldOfError(new ApiError(400, "invalid_input", "no such", { field: "saes[1].hook_point" }), "hook_point")).toBe("sweep");
  });
});
