import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeDataset, makeTokenization } from "../datasets/fixtures";
import { makeEstimate, makeExtraction, makeTemplate } from "./fixtures";

const extraction = vi.hoisted(() => ({ estimate: vi.fn(), start: vi.fn() }));
const datasets = vi.hoisted(() => ({ list: vi.fn() }));
const templates = vi.hoisted(() => ({ list: vi.fn(), create: vi.fn(), setFavorite: vi.fn(), remove: vi.fn(), importFile: vi.fn() }));
vi.mock("../../api/extraction", async (importOriginal) => ({ ...(await importOriginal<object>()), extractionApi: extraction }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: datasets }));
vi.mock("../../api/templates", async (importOriginal) => ({ ...(await importOriginal<object>()), templatesApi: templates }));

import { ApiError } from "../../api/client";
import { useExtractions } from "../../stores/extraction";
import { useTemplates } from "../../stores/templates";
import { useToasts } from "../../stores/toasts";
import { ESTIMATE_DEBOUNCE_MS } from "../../lib/useDebouncedEstimate";
import { ExtractionForm } from "./ExtractionForm";

const ALL_HOOKS = new Set(["resid_pre", "resid_post", "mlp_out", "attn_out"]);

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  useExtractions.getState().reset();
  useTemplates.getState().reset();
  useToasts.getState().clear();
  const tokenizations = [
    makeTokenization({ id: "t-other", model_id: "m2", tokenizer_name: "gpt2" }),
    makeTokenization({ id: "t1", model_id: "m1", num_sequences: 1200 }),
  ];
  datasets.list.mockResolvedValue({ items: [makeDataset({ tokenizations })], pagination: { page: 1, limit: 200, total: 1 } });
  templates.list.mockResolvedValue({ items: [], pagination: { page: 1, limit: 200, total: 0 } });
});
afterEach(() => vi.useRealTimers());

/** Let the lists load, then the debounce pass and the estimate answer. */
async function settle() {
  for (let i = 0; i < 3; i++) {
    await act(async () => {
      await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS + 50);
    });
  }
}

function renderForm() {
  return render(<ExtractionForm modelId="m1" numLayers={4} hookTypes={ALL_HOOKS} formats={null} busyWith={null} />);
}

describe("ExtractionForm", () => {
  it("picks this model's tokenization, estimates once settled, and keeps Start disabled while it cannot start", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    extraction.estimate.mockResolvedValue(makeEstimate({ can_start: false, warnings: ["the activations need 80 GB but only 50 GB is free"] }));
    renderForm();
    await settle();
    expect(screen.getByTestId("extract-tokenization")).toHaveValue("t1");
    expect(within(screen.getByTestId("extract-tokenization")).getByText(/gpt2 .* other tokenizer/)).toBeInTheDocument();
    expect(extraction.estimate).toHaveBeenCalledTimes(1);
    expect(extraction.estimate).toHaveBeenLastCalledWith(
      "m1",
      expect.objectContaining({ dataset_id: "d1", tokenization_id: "t1", layers: [2], hook_points: ["resid_post"], max_samples: 1000, batch_size: 32 }),
      true,
      expect.anything(),
    );
    expect(screen.getByTestId("extract-warning")).toHaveTextContent("only 50 GB is free");
    expect(screen.getByTestId("extract-cannot-start")).toBeInTheDocument();
    expect(screen.getByTestId("extract-start")).toBeDisabled();

    // Store fp16 instead: it fits, and Start turns on (one request for the change, after the pause).
    extraction.estimate.mockResolvedValue(makeEstimate({ can_start: true }));
    await user.selectOptions(screen.getByTestId("extract-dtype"), "fp16");
    await settle();
    expect(extraction.estimate).toHaveBeenCalledTimes(2);
    expect(extraction.estimate).toHaveBeenLastCalledWith("m1", expect.objectContaining({ dtype: "fp16" }), true, expect.anything());
    expect(screen.getByTestId("extract-start")).toBeEnabled();

    // No hook point: invalid before asking the server, Start off again.
    await user.click(screen.getByTestId("extract-hook-resid_post"));
    await settle();
    expect(screen.getByTestId("extract-hooks-error")).toHaveTextContent("Choose at least one hook point.");
    expect(screen.getByTestId("extract-start")).toBeDisabled();
    expect(extraction.estimate).toHaveBeenCalledTimes(2);
  });

  it("fills the form from a template in one click", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    extraction.estimate.mockResolvedValue(makeEstimate());
    const template = makeTemplate({ layers: [0, 1, 9], hook_points: ["mlp_out", "attn_out"], max_samples: 64, batch_size: 16, dtype: "fp16" });
    templates.list.mockResolvedValue({ items: [template], pagination: { page: 1, limit: 200, total: 1 } });
    renderForm();
    await settle();
    await user.click(screen.getByTestId("template-apply-tpl1"));
    await settle();
    expect(screen.getByTestId("extract-layer-0")).toBeChecked();
    expect(screen.getByTestId("extract-layer-1")).toBeChecked();
    expect(screen.getByTestId("extract-layer-2")).not.toBeChecked();
    expect(screen.getByTestId("extract-layers-range")).toHaveValue("0-1");
    expect(screen.getByTestId("extract-hook-mlp_out")).toBeChecked();
    expect(screen.getByTestId("extract-hook-attn_out")).toBeChecked();
    expect(screen.getByTestId("extract-hook-resid_post")).not.toBeChecked();
    expect(screen.getByTestId("extract-max-samples-value")).toHaveTextContent("64");
    expect(screen.getByTestId("extract-batch-size-value")).toHaveTextContent("16");
    expect(screen.getByTestId("extract-dtype")).toHaveValue("fp16");
    expect(extraction.estimate).toHaveBeenLastCalledWith(
      "m1",
      expect.objectContaining({ layers: [0, 1], hook_points: ["mlp_out", "attn_out"], max_samples: 64, batch_size: 16, dtype: "fp16" }),
      true,
      expect.anything(),
    );
    // Layer 9 is not in this 4-layer model: the toast says it was left out.
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "warning", title: `Template '${template.name}' loaded`, message: expect.stringMatching(/layer 9 left out/) });
  });

  it("shows a server error next to the field it names, and a refused start under the button", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    extraction.estimate.mockRejectedValue(
      new ApiError(400, "invalid_input", "max_samples must be between 1 and 500 (the sequences in this tokenization), got 1000", { field: "max_samples", min: 1, max: 500 }),
    );
    renderForm();
    await settle();
    expect(screen.getByTestId("extract-max-samples-field-error")).toHaveTextContent("between 1 and 500");
    expect(screen.getByTestId("extract-start")).toBeDisabled();

    extraction.estimate.mockResolvedValue(makeEstimate());
    await user.clear(screen.getByTestId("extract-max-samples-input"));
    await user.type(screen.getByTestId("extract-max-samples-input"), "64");
    await settle();
    expect(screen.queryByTestId("extract-max-samples-field-error")).not.toBeInTheDocument();
    extraction.start.mockRejectedValueOnce(new ApiError(409, "conflict", "extraction e9 (x) is already running on this model", { extraction_id: "e9" }));
    await user.click(screen.getByTestId("extract-start"));
    expect(await screen.findByTestId("extract-start-error")).toHaveTextContent("already running on this model (HTTP 409)");

    extraction.start.mockResolvedValueOnce({ ...makeExtraction({ status: "queued", samples_done: 0 }), job_id: "job-e1" });
    await user.click(screen.getByTestId("extract-start"));
    await settle();
    expect(extraction.start).toHaveBeenLastCalledWith("m1", expect.objectContaining({ max_samples: 64, tokenization_id: "t1" }));
    expect(useExtractions.getState().byModel.m1).toEqual(["e1"]);
  });
});
