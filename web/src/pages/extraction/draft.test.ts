import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { applyTemplate, fieldOfError, initialDraft, toRequest, toTemplate, validateDraft } from "./draft";
import { makeTemplate } from "./fixtures";

const ready = { ...initialDraft(30), datasetId: "d1", tokenizationId: "t1" };

describe("extraction draft", () => {
  it("starts at the middle layer's residual stream and turns into the API's request", () => {
    expect(initialDraft(30)).toMatchObject({ layers: [15], hookTypes: ["resid_post"], batchSize: 32, dtype: "fp32" });
    const request = toRequest({ ...ready, layers: [6, 3], hookTypes: ["mlp_out", "resid_pre"], name: "  " });
    expect(request).toMatchObject({ dataset_id: "d1", tokenization_id: "t1", layers: [3, 6], hook_points: ["resid_pre", "mlp_out"], name: null });
    expect(toTemplate(ready, "")).toMatchObject({ name: null, layers: [15], hook_points: ["resid_post"], max_samples: 1000 });
  });

  it("names each field that is not valid yet", () => {
    expect(validateDraft(ready, 30, 2000)).toEqual({});
    const errors = validateDraft({ ...ready, tokenizationId: "", layers: [], hookTypes: [], maxSamples: 5000, batchSize: 24 }, 30, 2000);
    expect(Object.keys(errors).sort()).toEqual(["batch_size", "hook_points", "layers", "max_samples", "tokenization_id"]);
    expect(errors.max_samples).toBe("Between 1 and 2000, or all.");
    expect(validateDraft({ ...ready, maxSamples: null }, 30, 2000)).toEqual({});
  });

  it("applies a template, leaving out layers this model lacks and keeping samples within the tokenization", () => {
    const t = makeTemplate({ layers: [3, 15, 40], hook_points: ["attn_out"], max_samples: 5000, batch_size: 64, dtype: "bf16" });
    const { draft, dropped } = applyTemplate(ready, t, 30, 2000);
    expect(draft).toMatchObject({ layers: [3, 15], hookTypes: ["attn_out"], maxSamples: 2000, batchSize: 64, dtype: "bf16", datasetId: "d1" });
    expect(dropped).toEqual([40]);
    expect(applyTemplate(ready, makeTemplate({ max_samples: null }), 30, 2000).draft.maxSamples).toBeNull();
  });

  it("finds the field a server error names, in both error shapes", () => {
    expect(fieldOfError(new ApiError(400, "invalid_input", "max_samples must be…", { field: "max_samples", min: 1, max: 500 }))).toBe("max_samples");
    expect(fieldOfError(new ApiError(409, "conflict", "tokenization is running", { field: "tokenization_id", status: "running" }))).toBe("tokenization_id");
    expect(fieldOfError(new ApiError(422, "validation_error", "…", [{ field: "body.hook_points.0", message: "bad" }]))).toBe("hook_points");
    expect(fieldOfError(new ApiError(409, "conflict", "already running", { extraction_id: "e1" }))).toBeNull();
    expect(fieldOfError(new Error("boom"))).toBeNull();
  });
});
