import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeModel } from "../../test/fixtures";
import { makeDataset, makeTokenization, makeTokenizePreview } from "./fixtures";

const api = vi.hoisted(() => ({ previewTokenization: vi.fn(), tokenize: vi.fn() }));
const models = vi.hoisted(() => ({ list: vi.fn() }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: api }));
vi.mock("../../api/models", () => ({ modelsApi: models }));

import { ApiError } from "../../api/client";
import { useDatasets } from "../../stores/datasets";
import { PREVIEW_DEBOUNCE_MS, TokenizationTab } from "./TokenizationTab";

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  useDatasets.getState().reset();
  api.previewTokenization.mockReset();
  api.tokenize.mockReset();
  models.list.mockReset();
  models.list.mockResolvedValue({ items: [makeModel({ id: "m1", name: "tiny-llama" })], pagination: { page: 1, limit: 200, total: 1 } });
});
afterEach(() => vi.useRealTimers());

/** Let the models load, then the debounce pass and the preview answer. */
async function settle() {
  for (let i = 0; i < 3; i++) {
    await act(async () => {
      await vi.advanceTimersByTimeAsync(PREVIEW_DEBOUNCE_MS + 50);
    });
  }
}

describe("TokenizationTab", () => {
  it("previews the first sequences as coloured tokens with the estimates, live as settings change", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    api.previewTokenization.mockResolvedValue(makeTokenizePreview());
    const dataset = makeDataset();
    useDatasets.getState().upsert(dataset);
    render(<TokenizationTab dataset={dataset} />);
    await settle();
    expect(api.previewTokenization).toHaveBeenCalledTimes(1);
    expect(api.previewTokenization).toHaveBeenLastCalledWith(
      "d1",
      expect.objectContaining({ model_id: "m1", split: "train", max_length: 512, packing: false, samples: 5 }),
      expect.anything(),
    );
    const tokens = screen.getByTestId("tokenize-preview-tokens-0");
    expect(tokens).toHaveAttribute("data-count", "3");
    expect(within(tokens).getByTitle(/id 3186/)).toHaveTextContent("·world");
    expect(screen.getByTestId("tokenize-estimate-sequences")).toHaveTextContent("≈ 51,878");
    expect(screen.getByTestId("tokenize-estimate")).toHaveTextContent("first 2,000 of 253,608 rows");

    // Typing several characters makes one request, after the pause.
    const maxLength = screen.getByTestId("tokenize-max-length");
    await user.clear(maxLength);
    await user.type(maxLength, "64");
    await user.click(screen.getByTestId("tokenize-packing"));
    await settle();
    expect(api.previewTokenization).toHaveBeenCalledTimes(2);
    expect(api.previewTokenization).toHaveBeenLastCalledWith("d1", expect.objectContaining({ max_length: 64, packing: true }), expect.anything());
  });

  it("refuses bad settings before asking the server, and shows a refused start inline", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    api.previewTokenization.mockResolvedValue(makeTokenizePreview({ exact: true, rows_sampled: 1000, rows_total: 1000 }));
    const dataset = makeDataset({ tokenizations: [makeTokenization()] });
    useDatasets.getState().upsert(dataset);
    render(<TokenizationTab dataset={dataset} />);
    await settle();
    expect(screen.getByTestId("tokenize-estimate")).toHaveTextContent("exact");

    await user.clear(screen.getByTestId("tokenize-stride"));
    await user.type(screen.getByTestId("tokenize-stride"), "500");
    await settle();
    expect(screen.getByText("Must be smaller than the max length.")).toBeInTheDocument();
    expect(screen.getByTestId("tokenize-start")).toBeDisabled();
    expect(api.previewTokenization).toHaveBeenCalledTimes(1);

    await user.clear(screen.getByTestId("tokenize-stride"));
    await settle();
    // Same model, split and settings as the existing tokenization: the server would refuse it (409).
    expect(screen.getByTestId("tokenize-duplicate")).toHaveTextContent("Already tokenized");
    expect(screen.getByTestId("tokenize-start")).toBeDisabled();

    await user.clear(screen.getByTestId("tokenize-max-length"));
    await user.type(screen.getByTestId("tokenize-max-length"), "96");
    await settle();
    expect(screen.queryByTestId("tokenize-duplicate")).not.toBeInTheDocument();
    api.tokenize.mockRejectedValue(new ApiError(400, "invalid_input", "model 'm1' is error; tokenize with a ready, compatible model"));
    await user.click(screen.getByTestId("tokenize-start"));
    expect(await screen.findByTestId("tokenize-start-error")).toHaveTextContent("tokenize with a ready, compatible model (HTTP 400)");
    expect(api.tokenize).toHaveBeenCalledWith("d1", expect.objectContaining({ model_id: "m1", split: "train", max_length: 96 }));
  });

  it("lists tokenizations with their counts, and points to Models when no model is ready", async () => {
    models.list.mockResolvedValue({ items: [], pagination: { page: 1, limit: 200, total: 0 } });
    const dataset = makeDataset({ tokenizations: [makeTokenization()] });
    render(<TokenizationTab dataset={dataset} />);
    await settle();
    expect(screen.getByTestId("tokenize-no-model")).toHaveTextContent("download or import a model");
    expect(api.previewTokenization).not.toHaveBeenCalled();
    const row = screen.getByTestId("tokenization-row-t1");
    expect(row).toHaveTextContent("tiny-llama");
    expect(row).toHaveTextContent("1,200");
    expect(row).toHaveTextContent("153,600");
    expect(within(row).getByTestId("tokenization-stats-t1")).toHaveAttribute("href", "/datasets/d1?tab=statistics&tokenization=t1");
  });
});
