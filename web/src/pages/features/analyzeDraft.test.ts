import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { analyzeRequest, draftErrors, fieldOfServerError, initialDraft } from "./analyzeDraft";

describe("the analysis form's draft", () => {
  it("sends the hold-out analysis with the server's defaults and no sequence source", () => {
    const body = analyzeRequest(initialDraft(true));
    expect(body).toMatchObject({ format: "fp32", top_k: 20, context: 16, intervals: 10, per_interval: 2, ablation_top: 2, batch_size: 8 });
    expect(body).not.toHaveProperty("dataset_id");
    expect(body).not.toHaveProperty("max_sequences");
  });

  it("sends the chosen tokenization and a sequence cap", () => {
    const draft = { ...initialDraft(true), source: "tokenization" as const, datasetId: "d1", tokenizationId: "t1", maxSequences: " 40 " };
    expect(draftErrors(draft)).toEqual({});
    expect(analyzeRequest(draft)).toMatchObject({ dataset_id: "d1", tokenization_id: "t1", max_sequences: 40 });
  });

  it("names the field and its range for each bad value", () => {
    const errors = draftErrors({ ...initialDraft(false), topK: "0", context: "1.5", ablationTop: "101", batchSize: "" });
    expect(errors.topK).toBe("Top examples: between 1 and 10,000");
    expect(errors.context).toBe('Context tokens: a whole number, not "1.5"');
    expect(errors.ablationTop).toBe("Ablate top examples: between 0 and 100");
    expect(errors.batchSize).toBe("Batch size: a whole number is needed");
    // No hold-out: a tokenization must be chosen.
    expect(errors.datasetId).toMatch(/^Dataset: choose/);
  });

  it("maps the server's field onto the form's", () => {
    expect(fieldOfServerError(new ApiError(400, "invalid", "x", { field: "tokenization_id" }))).toBe("tokenizationId");
    expect(fieldOfServerError(new ApiError(422, "validation_error", "x", [{ field: "body.top_k" }]))).toBe("topK");
    expect(fieldOfServerError(new ApiError(400, "invalid", "x", { field: "max_sequences" }))).toBe("maxSequences");
    expect(fieldOfServerError(new ApiError(400, "invalid", "x", null))).toBeNull();
    expect(fieldOfServerError(new Error("network"))).toBeNull();
  });
});
