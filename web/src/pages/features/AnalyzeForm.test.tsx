import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { SAE } from "../../api/training";
import { makeDataset, makeTokenization } from "../datasets/fixtures";
import { makeAnalysis } from "./fixtures";

const datasets = vi.hoisted(() => ({ list: vi.fn() }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: datasets }));

import { ApiError } from "../../api/client";
import { AnalyzeForm } from "./AnalyzeForm";

const SAE = {
  id: "sae1", name: "topk", origin: "trained", training_id: "tr1", model_id: "m1", model_name: "tiny", hook_point: "blocks.1.resid_post",
  target_hook_point: null, architecture: "topk", d_in: 64, d_sae: 48, k: 6, metrics: null, source_path: null, size_bytes: 1, path: "/x",
  created_at: "2026-12-04T22:00:00Z",
} as SAE;

beforeEach(() => {
  datasets.list.mockReset().mockResolvedValue({
    items: [makeDataset({ id: "d1", name: "docs", tokenizations: [makeTokenization({ id: "t1", model_id: "m1", ready: true })] })],
    pagination: { page: 1, limit: 200, total: 1 },
  });
});

describe("the analysis form", () => {
  it("starts a hold-out analysis with the typed settings", async () => {
    const user = userEvent.setup();
    const onStart = vi.fn().mockResolvedValue({ ...makeAnalysis(), job_id: "j1" });
    render(<AnalyzeForm sae={SAE} onStart={onStart} />);
    await user.clear(screen.getByTestId("analyze-topK"));
    await user.type(screen.getByTestId("analyze-topK"), "5");
    await user.click(screen.getByTestId("analyze-start"));
    expect(onStart).toHaveBeenCalledWith(expect.objectContaining({ top_k: 5, context: 16, format: "fp32" }));
    expect(onStart.mock.calls[0]![0]).not.toHaveProperty("tokenization_id");
    expect(datasets.list).not.toHaveBeenCalled(); // the hold-out needs no dataset list
  });

  it("analyses a chosen tokenization and puts the server's refusal next to the field it names", async () => {
    const user = userEvent.setup();
    const onStart = vi.fn().mockRejectedValue(
      new ApiError(400, "invalid_input", "max_sequences 500 is beyond the tokenization's 300 sequences", { field: "max_sequences" }),
    );
    render(<AnalyzeForm sae={SAE} onStart={onStart} />);
    await user.click(screen.getByTestId("analyze-source-tokenization"));
    await waitFor(() => expect(screen.getByTestId("analyze-tokenization")).toHaveValue("t1"));
    await user.type(screen.getByTestId("analyze-maxSequences"), "500");
    await user.click(screen.getByTestId("analyze-start"));
    expect(onStart).toHaveBeenCalledWith(expect.objectContaining({ dataset_id: "d1", tokenization_id: "t1", max_sequences: 500 }));
    expect(await screen.findByTestId("analyze-maxSequences-field-error")).toHaveTextContent("beyond the tokenization's 300 sequences (HTTP 400)");
  });

  it("waits for a fix of a bad value before it can start", async () => {
    const user = userEvent.setup();
    render(<AnalyzeForm sae={SAE} onStart={vi.fn()} />);
    await user.clear(screen.getByTestId("analyze-context"));
    await user.type(screen.getByTestId("analyze-context"), "-3");
    expect(screen.getByTestId("analyze-context-field-error")).toHaveTextContent("Context tokens: between 0 and 4,096");
    expect(screen.getByTestId("analyze-start")).toBeDisabled();
  });
});
