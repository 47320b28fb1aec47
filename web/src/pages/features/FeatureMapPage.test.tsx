import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeAnalysis } from "./fixtures";

const features = vi.hoisted(() => ({ get: vi.fn() }));
const maps = vi.hoisted(() => ({ get: vi.fn(), start: vi.fn(), correlations: vi.fn() }));
vi.mock("../../api/features", async (importOriginal) => ({ ...(await importOriginal<object>()), featuresApi: features }));
vi.mock("../../api/featureMaps", async (importOriginal) => ({ ...(await importOriginal<object>()), featureMapsApi: maps }));

import { ApiError } from "../../api/client";
import { FeatureMapPage } from "./FeatureMapPage";

const PCA = {
  analysis_id: "an1",
  method: "pca",
  params: { seed: 0 },
  width: 3,
  x: [0, 1, 2],
  y: [0, 1, 0],
  frequency: [0.1, 0.01, 0],
  label: ["king", null, null],
  label_score: [0.9, null, null],
  dead: [false, false, true],
};

beforeEach(() => {
  features.get.mockReset().mockResolvedValue(makeAnalysis());
  maps.get.mockReset().mockRejectedValue(new ApiError(404, "not_found", "no pca map of analysis 'an1' yet"));
  maps.start.mockReset().mockResolvedValue({ analysis_id: "an1", method: "pca", job_id: "job1" });
  maps.correlations.mockReset();
});

describe("the feature map page", () => {
  it("says the map is not computed yet, computes it, and draws it once read", async () => {
    const user = userEvent.setup();
    render(<FeatureMapPage analysisId="an1" />);
    expect(await screen.findByTestId("map-missing")).toHaveTextContent("No PCA map yet");
    await user.click(screen.getByTestId("map-compute"));
    expect(maps.start).toHaveBeenCalledWith("an1", { method: "pca", n_neighbors: 15, min_dist: 0.1, perplexity: 30, seed: 0 });

    maps.get.mockResolvedValue(PCA);
    await user.click(screen.getByRole("radio", { name: "UMAP" })); // another method is read from the server
    await user.click(screen.getByRole("radio", { name: "PCA" }));
    expect(await screen.findByTestId("feature-map-canvas")).toHaveAttribute("data-points", "3");
    expect(maps.get).toHaveBeenLastCalledWith("an1", "pca", expect.anything());
    expect(screen.getByTestId("map-params-used")).toHaveTextContent("computed with seed 0");
  });

  it("refuses a non-numeric UMAP parameter before asking the server", async () => {
    const user = userEvent.setup();
    render(<FeatureMapPage analysisId="an1" />);
    await user.click(await screen.findByRole("radio", { name: "UMAP" }));
    await user.clear(screen.getByTestId("map-n_neighbors"));
    await user.type(screen.getByTestId("map-n_neighbors"), "many");
    expect(screen.getByTestId("map-params-error")).toHaveTextContent("n_neighbors must be a whole number");
    expect(screen.getByTestId("map-compute")).toBeDisabled();
  });

  it("shows the heatmap of typed latents, grey where the analysis kept no value", async () => {
    const user = userEvent.setup();
    maps.correlations.mockResolvedValue({ latents: [1, 2], matrix: [[1, null], [null, 1]], kept_per_latent: 3 });
    render(<FeatureMapPage analysisId="an1" />);
    await user.type(screen.getByTestId("heatmap-latents"), "1, 2");
    await waitFor(() => expect(maps.correlations).toHaveBeenLastCalledWith("an1", [1, 2], expect.anything()));
    expect(await screen.findByTestId("heatmap-cell-0-1")).toHaveAttribute("title", "latents 1 and 2: not stored");
    expect(screen.getByTestId("heatmap-cell-0-0")).toHaveTextContent("1.00");
    expect(screen.getByTestId("correlation-heatmap")).toHaveTextContent("kept each latent's 3 most correlated");
  });
});
