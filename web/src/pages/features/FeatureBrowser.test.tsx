import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Feature } from "../../api/features";
import { makeAnalysis } from "./fixtures";

const features = vi.hoisted(() => ({ get: vi.fn(), features: vi.fn(), update: vi.fn() }));
vi.mock("../../api/features", async (importOriginal) => ({ ...(await importOriginal<object>()), featuresApi: features }));

import { navigate } from "../../lib/router";
import { liveFraction } from "./AnalysisList";
import { FeatureBrowser } from "./FeatureBrowser";

const row = (latent: number, over: Partial<Feature> = {}): Feature => ({
  latent, frequency: 0.01 * latent, max_activation: latent, mean_activation: 0.1, dead: latent === 0, label: latent === 2 ? "king" : null,
  label_kind: latent === 2 ? "automatic" : null, label_score: null, favourite: false, notes: null, ...over,
});

beforeEach(() => {
  navigate("/features/analyses/an1", { replace: true });
  features.get.mockReset().mockResolvedValue(makeAnalysis());
  features.features.mockReset().mockResolvedValue({ items: [row(0), row(1), row(2)], pagination: { page: 1, limit: 50, total: 3 } });
  features.update.mockReset().mockResolvedValue(row(1, { favourite: true }));
});

describe("the feature browser", () => {
  it("lists the latents and asks the server again as the search and filters change", async () => {
    const user = userEvent.setup();
    render(<FeatureBrowser analysisId="an1" />);
    expect(await screen.findByTestId("feature-row-2")).toHaveTextContent("king");
    expect(screen.getByTestId("feature-row-0")).toHaveTextContent("dead");
    expect(features.features).toHaveBeenLastCalledWith("an1", { sort: "index", page: 1, limit: 50 }, expect.anything());

    await user.selectOptions(screen.getByTestId("feature-search-mode"), "token");
    await user.type(screen.getByTestId("feature-search"), "king");
    await waitFor(() => expect(features.features).toHaveBeenLastCalledWith("an1", expect.objectContaining({ token: "king" }), expect.anything()));
    await user.selectOptions(screen.getByTestId("feature-sort"), "frequency");
    await user.selectOptions(screen.getByTestId("feature-liveliness"), "alive");
    await user.click(screen.getByTestId("feature-favourites"));
    await waitFor(() =>
      expect(features.features).toHaveBeenLastCalledWith("an1", expect.objectContaining({ sort: "frequency", dead: false, favourite: true, token: "king" }), expect.anything()),
    );
  });

  it("shows a bad frequency bound's fix and does not ask with it", async () => {
    const user = userEvent.setup();
    render(<FeatureBrowser analysisId="an1" />);
    await screen.findByTestId("feature-row-1");
    const calls = features.features.mock.calls.length;
    await user.type(screen.getByTestId("feature-min-frequency"), "5");
    expect(screen.getByTestId("feature-filters-error")).toHaveTextContent("Min frequency: a fraction between 0 and 1");
    await new Promise((r) => setTimeout(r, 400));
    expect(features.features.mock.calls.length).toBe(calls);
  });

  it("stars a latent without opening it", async () => {
    const user = userEvent.setup();
    render(<FeatureBrowser analysisId="an1" />);
    await user.click(await screen.findByTestId("feature-fav-1"));
    expect(features.update).toHaveBeenCalledWith("an1", 1, { favourite: true });
    expect(window.location.pathname).toBe("/features/analyses/an1");
    await user.click(screen.getByTestId("feature-row-2"));
    expect(window.location.pathname).toBe("/features/analyses/an1/latents/2");
  });
});

describe("an analysis' live progress", () => {
  it("moves the row's bar on with the passes' events, never back", () => {
    const event = { kind: "progress" as const, analysis_id: "an1", phase: "samples", pass_number: 2, passes: 2, sequences_done: 50, sequences_total: 100, tokens_per_second: 9 };
    expect(liveFraction({ progress: 0.1, active: true }, event)).toBeCloseTo(0.9 * 0.75);
    expect(liveFraction({ progress: 0.8, active: true }, event)).toBe(0.8);
    expect(liveFraction({ progress: 1, active: false }, event)).toBe(1);
    expect(liveFraction({ progress: 0.2, active: true }, undefined)).toBe(0.2);
  });
});
