import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeExtraction } from "../extraction/fixtures";
import { makeDataset, makeTokenization } from "../datasets/fixtures";
import { makeModel } from "../../test/fixtures";
import { makeEstimate, makeTraining } from "./fixtures";

const training = vi.hoisted(() => ({ completedExtractions: vi.fn(), start: vi.fn(), estimate: vi.fn() }));
const models = vi.hoisted(() => ({ list: vi.fn(), architecture: vi.fn() }));
const datasets = vi.hoisted(() => ({ list: vi.fn() }));
vi.mock("../../api/training", async (importOriginal) => ({ ...(await importOriginal<object>()), trainingApi: training }));
vi.mock("../../api/models", () => ({ modelsApi: models }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: datasets }));

import { ApiError } from "../../api/client";
import { useTrainings } from "../../stores/training";
import { useToasts } from "../../stores/toasts";
import { TrainingForm } from "./TrainingForm";

const EXTRACTIONS = [
  makeExtraction({ id: "e1", name: "resid_layers0-1", hook_points: ["blocks.0.resid_post", "blocks.1.resid_post"], d_model: 64 }),
  makeExtraction({ id: "e2", name: "mlp_layer3", hook_points: ["blocks.3.mlp_out"], d_model: 64 }),
];

beforeEach(() => {
  useTrainings.getState().reset();
  useToasts.getState().clear();
  training.completedExtractions.mockResolvedValue({ items: EXTRACTIONS, pagination: { page: 1, limit: 200, total: 2 } });
  training.start.mockReset();
  training.estimate.mockReset();
  training.estimate.mockImplementation((body: { saes: unknown[] }) => Promise.resolve(makeEstimate(body.saes.length)));
  models.list.mockReset();
  models.architecture.mockReset();
  datasets.list.mockReset();
});

async function renderForm(initialExtractionId: string | null = null) {
  render(<TrainingForm initialExtractionId={initialExtractionId} />);
  await waitFor(() => expect(screen.getByTestId("train-extraction")).not.toHaveValue(""));
}

describe("TrainingForm", () => {
  it("picks the extraction the link names and its first hook point; the target lists the others as transcoders", async () => {
    await renderForm("e1");
    expect(training.completedExtractions).toHaveBeenCalled();
    expect(screen.getByTestId("train-extraction")).toHaveValue("e1");
    expect(screen.getByTestId("train-hook-point")).toHaveValue("blocks.0.resid_post");
    expect(screen.getByTestId("train-target-hook-point")).toHaveTextContent("blocks.1.resid_post (transcoder)");
    expect(screen.getByTestId("train-expansion-factor-field")).toHaveTextContent("expansion factor: 512 latents");
    await userEvent.selectOptions(screen.getByTestId("train-extraction"), "e2");
    expect(screen.getByTestId("train-hook-point")).toHaveValue("blocks.3.mlp_out");
  });

  it("shows k for the topk family and an L1 or L0 coefficient for the others", async () => {
    const user = userEvent.setup();
    await renderForm();
    expect(screen.getByTestId("train-k")).toHaveValue("32");
    expect(screen.queryByTestId("train-sparsity")).toBeNull();
    await user.selectOptions(screen.getByTestId("train-architecture"), "standard");
    expect(screen.queryByTestId("train-k")).toBeNull();
    expect(screen.getByTestId("train-sparsity-field")).toHaveTextContent("L1 coefficient");
    await user.selectOptions(screen.getByTestId("train-architecture"), "jumprelu");
    expect(screen.getByTestId("train-sparsity-field")).toHaveTextContent("L0 coefficient");
    await user.selectOptions(screen.getByTestId("train-architecture"), "gated");
    expect(screen.getByTestId("train-sparsity-field")).toHaveTextContent("L1 coefficient");
  });

  it("presets fill the form; the k sweep greys k and starts three SAEs", async () => {
    const user = userEvent.setup();
    await renderForm();
    await user.click(screen.getByTestId("train-preset-relu-l1-8x"));
    expect(screen.getByTestId("train-architecture")).toHaveValue("standard");
    expect(screen.getByTestId("train-sparsity")).toHaveValue("5");
    await user.click(screen.getByTestId("train-preset-sweep-k"));
    expect(screen.getByTestId("train-architecture")).toHaveValue("topk");
    expect(screen.getByTestId("train-sweep-param")).toHaveValue("k");
    expect(screen.getByTestId("train-sweep-values")).toHaveValue("16, 32, 64");
    expect(screen.getByTestId("train-k")).toBeDisabled();
    expect(screen.getByTestId("train-start")).toHaveTextContent("Start training (3 SAEs)");
    expect(await screen.findByTestId("train-estimate-parameters")).toHaveTextContent("3 SAEs");
  });

  it("says what is wrong before asking the server, next to the field, and keeps Start disabled", async () => {
    const user = userEvent.setup();
    await renderForm();
    await user.clear(screen.getByTestId("train-k"));
    await user.type(screen.getByTestId("train-k"), "600");
    expect(screen.getByTestId("train-k-field-error")).toHaveTextContent("At most the width (512 latents).");
    await user.clear(screen.getByTestId("train-lr"));
    await user.type(screen.getByTestId("train-lr"), "0");
    expect(screen.getByTestId("train-lr-field-error")).toHaveTextContent("A number above 0, at most 1.");
    expect(screen.getByTestId("train-start")).toBeDisabled();
    await user.click(screen.getByTestId("train-start"));
    expect(training.start).not.toHaveBeenCalled();
  });

  it("starts the run with the form's request, and shows a refusal's message next to the field it names", async () => {
    const user = userEvent.setup();
    await renderForm();
    await user.clear(screen.getByTestId("train-steps"));
    await user.type(screen.getByTestId("train-steps"), "40");
    training.start.mockRejectedValueOnce(
      new ApiError(400, "invalid_input", "batch_tokens (4,096) is larger than the training data (1,311 tokens after the hold-out split)", { field: "batch_tokens", max: 1311 }),
    );
    await user.click(screen.getByTestId("train-start"));
    expect(await screen.findByTestId("train-batch-tokens-field-error")).toHaveTextContent("batch_tokens (4,096) is larger than the training data");
    expect(screen.getByTestId("train-batch-tokens-field-error")).toHaveTextContent("HTTP 400");
    // Editing the form clears the server's message; the next start goes through and is listed.
    await user.clear(screen.getByTestId("train-batch-tokens"));
    await user.type(screen.getByTestId("train-batch-tokens"), "64");
    expect(screen.queryByTestId("train-batch-tokens-field-error")).toBeNull();
    training.start.mockResolvedValueOnce({ ...makeTraining({ id: "t9", status: "queued" }), job_id: "job-9" });
    await user.click(screen.getByTestId("train-start"));
    await waitFor(() => expect(useTrainings.getState().listIds).toEqual(["t9"]));
    expect(training.start).toHaveBeenLastCalledWith(
      expect.objectContaining({
        extraction_id: "e1",
        hook_point: "blocks.0.resid_post",
        steps: 40,
        batch_tokens: 64,
        saes: [expect.objectContaining({ architecture: "topk", expansion_factor: 8, k: 32, lr: 0.0004 })],
      }),
    );
  });

  it("a 422 on a swept field lands on the sweep's values", async () => {
    const user = userEvent.setup();
    await renderForm();
    await user.click(screen.getByTestId("train-preset-sweep-k"));
    training.start.mockRejectedValueOnce(new ApiError(422, "validation_error", "invalid request: body.saes.1.k: too large", [{ field: "body.saes.1.k", message: "too large" }]));
    await user.click(screen.getByTestId("train-start"));
    expect(await screen.findByTestId("train-sweep-values-field-error")).toHaveTextContent("body.saes.1.k: too large");
  });

  it("shows the server's estimate of the form as it changes, and its refusal next to the field it names", async () => {
    const user = userEvent.setup();
    await renderForm();
    expect(await screen.findByTestId("train-estimate-time")).toHaveTextContent("≈ 1s40 steps × 4.0 ms");
    expect(screen.getByTestId("train-estimate-memory")).toHaveTextContent("1.4 MB");
    expect(training.estimate).toHaveBeenLastCalledWith(expect.objectContaining({ extraction_id: "e1", stream: null, batch_tokens: 4096 }), expect.anything());
    training.estimate.mockRejectedValue(new ApiError(400, "invalid_input", "batch_tokens (1,000,000) is larger than the training data", { field: "batch_tokens", max: 1311 }));
    await user.clear(screen.getByTestId("train-batch-tokens"));
    await user.type(screen.getByTestId("train-batch-tokens"), "1000000");
    expect(await screen.findByTestId("train-batch-tokens-field-error")).toHaveTextContent("larger than the training data");
    expect(screen.getByTestId("train-start")).toBeDisabled();
    // Only the last value is asked about (debounced), and fixing it clears the message.
    expect(training.estimate.mock.calls.filter(([body]) => body.batch_tokens !== 4096)).toHaveLength(1);
    training.estimate.mockImplementation(() => Promise.resolve(makeEstimate(1, { warnings: ["33 epochs over the same tokens: the SAEs may overfit; extract more samples"] })));
    await user.clear(screen.getByTestId("train-batch-tokens"));
    await user.type(screen.getByTestId("train-batch-tokens"), "64");
    expect(screen.queryByTestId("train-batch-tokens-field-error")).toBeNull();
    expect(await screen.findByTestId("train-warning")).toHaveTextContent("may overfit");
    expect(screen.getByTestId("train-start")).toBeEnabled();
  });

  it("streams from a model: its hook points, a tokenization made with it, and each source's cost", async () => {
    const user = userEvent.setup();
    models.list.mockResolvedValue({ items: [makeModel({ id: "m1", name: "tiny-llama" })], pagination: { page: 1, limit: 200, total: 1 } });
    models.architecture.mockResolvedValue({ num_layers: 3, hidden_size: 32, hook_points: [0, 1, 2].flatMap((i) => [`blocks.${i}.resid_pre`, `blocks.${i}.resid_post`]) });
    datasets.list.mockResolvedValue({
      items: [makeDataset({ id: "d1", tokenizations: [makeTokenization({ id: "t1", model_id: "m1" })] })],
      pagination: { page: 1, limit: 200, total: 1 },
    });
    await renderForm();
    expect(screen.getByTestId("train-source-extraction")).toHaveAttribute("aria-checked", "true");
    expect(screen.getByTestId("train-source-extraction-cost")).toHaveTextContent("reusable across runs");
    expect(screen.getByTestId("train-source-stream-cost")).toHaveTextContent("forward pass on every batch");
    expect(models.list).not.toHaveBeenCalled(); // asked only once streaming is chosen

    await user.click(screen.getByTestId("train-source-stream"));
    await waitFor(() => expect(screen.getByTestId("train-hook-point")).toHaveValue("blocks.1.resid_post")); // the middle layer
    expect(screen.queryByTestId("train-extraction")).toBeNull();
    expect(screen.getByTestId("train-model")).toHaveValue("m1");
    expect(screen.getByTestId("train-tokenization")).toHaveValue("t1");
    expect(screen.getByTestId("train-expansion-factor-field")).toHaveTextContent("256 latents"); // 8 × d 32
    expect(await screen.findByTestId("train-estimate-time")).toBeVisible();
    expect(training.estimate).toHaveBeenLastCalledWith(
      expect.objectContaining({ extraction_id: null, hook_point: "blocks.1.resid_post", stream: expect.objectContaining({ model_id: "m1", dataset_id: "d1", tokenization_id: "t1", format: "fp32", forward_batch_size: 8 }) }),
      expect.anything(),
    );
    await user.clear(screen.getByTestId("train-forward-batch"));
    await user.type(screen.getByTestId("train-forward-batch"), "6");
    expect(screen.getByTestId("train-forward-batch-field-error")).toHaveTextContent("A power of 2");

    // Back to the extraction: its own hook point again.
    await user.click(screen.getByTestId("train-source-extraction"));
    expect(screen.getByTestId("train-extraction")).toHaveValue("e1");
    await waitFor(() => expect(screen.getByTestId("train-hook-point")).toHaveValue("blocks.0.resid_post"));
  });
});
