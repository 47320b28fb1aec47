import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeAnalysis, makeFeatureDetail } from "./fixtures";

const features = vi.hoisted(() => ({ get: vi.fn(), feature: vi.fn(), update: vi.fn(), probe: vi.fn() }));
vi.mock("../../api/features", async (importOriginal) => ({ ...(await importOriginal<object>()), featuresApi: features }));

import { ApiError } from "../../api/client";
import { FeatureDetailView, steerHref } from "./FeatureDetailView";

beforeEach(() => {
  features.get.mockReset().mockResolvedValue(makeAnalysis());
  features.feature.mockReset().mockResolvedValue(makeFeatureDetail());
  features.update.mockReset();
  features.probe.mockReset();
});

describe("a latent's detail", () => {
  it("shows its examples highlighted, logit lens, relatives linked, ablation and the steer link", async () => {
    render(<FeatureDetailView analysisId="an1" latent={7} />);
    const top = await screen.findByTestId("feature-top-examples");
    expect(within(top).getByTitle(/" king": activation 2.00/)).toBeInTheDocument();
    expect(screen.getByTestId("feature-interval-examples")).toHaveTextContent("Interval examples (equal-width) (1)");
    expect(screen.getByTestId("feature-promoted")).toHaveTextContent("crown");
    expect(screen.getByTestId("feature-suppressed")).toHaveTextContent("river");
    expect(screen.getByTestId("feature-neighbours-9")).toHaveAttribute("href", "/features/analyses/an1/latents/9");
    expect(screen.getByTestId("feature-correlations-3")).toHaveAttribute("href", "/features/analyses/an1/latents/3");
    expect(screen.getByTestId("feature-ablation")).toHaveTextContent("Δ next-token loss 0.0310");
    expect(screen.getByTestId("feature-histogram")).toHaveAttribute("data-total", "12");
    expect(screen.getByTestId("feature-steer-link")).toHaveAttribute("href", "/steering?model=m1&sae=sae1&feature=7");
  });

  it("saves an edited label and shows what the server answers", async () => {
    const user = userEvent.setup();
    features.update.mockResolvedValue({});
    render(<FeatureDetailView analysisId="an1" latent={7} />);
    const input = await screen.findByTestId("feature-label-input");
    expect(screen.getByTestId("feature-label-save")).toBeDisabled(); // nothing changed yet
    features.feature.mockResolvedValue(makeFeatureDetail({ label: "royalty", label_kind: "user" }));
    await user.clear(input);
    await user.type(input, "royalty ");
    await user.click(screen.getByTestId("feature-label-save"));
    expect(features.update).toHaveBeenCalledWith("an1", 7, { label: "royalty" });
    await waitFor(() => expect(screen.getByTestId("feature-detail-title")).toHaveTextContent("Latent #7royalty"));
  });

  it("refuses a label past the limit before asking, and shows the server's refusal", async () => {
    const user = userEvent.setup();
    render(<FeatureDetailView analysisId="an1" latent={7} />);
    const input = await screen.findByTestId("feature-label-input");
    await user.clear(input);
    await user.click(input);
    await user.paste("x".repeat(201));
    expect(screen.getByTestId("feature-label-field-error")).toHaveTextContent("Label: at most 200 characters (201 now)");
    expect(screen.getByTestId("feature-label-save")).toBeDisabled();
    await user.clear(input);
    await user.type(input, "ok");
    features.update.mockRejectedValue(new ApiError(404, "not_found", "analysis 'an1' has no latent 7"));
    await user.click(screen.getByTestId("feature-label-save"));
    expect(await screen.findByTestId("feature-label-error")).toHaveTextContent("analysis 'an1' has no latent 7 (HTTP 404)");
  });

  it("says why when the latent cannot be loaded", async () => {
    features.feature.mockRejectedValue(new ApiError(404, "not_found", "latent 99 is out of range: the SAE has 48 latents"));
    render(<FeatureDetailView analysisId="an1" latent={99} />);
    await waitFor(() => expect(screen.getByTestId("feature-detail-status")).toHaveTextContent("latent 99 is out of range: the SAE has 48 latents (HTTP 404)"));
  });

  it("links steering with the model, SAE and latent", () => {
    expect(steerHref({ model_id: "m 1", sae_id: "s1" }, 4)).toBe("/steering?model=m+1&sae=s1&feature=4");
  });
});

describe("your own text on a latent's page", () => {
  it("shows the latent on each token of the text and the text's top latents, linked", async () => {
    const user = userEvent.setup();
    features.probe.mockResolvedValue({
      analysis_id: "an1", sae_id: "sae1", model_id: "m1", latent: 7, label: "king", format: "fp32", device: "cpu", seconds: 0.1, ranked_by: "max",
      tokens: [{ position: 0, token: 5, text: "The", activation: null }, { position: 1, token: 11, text: " king", activation: 1.5 }],
      top_latents: [{ latent: 7, max_activation: 1.5, sum_activation: 1.5, peak_position: 1, label: "king" }, { latent: 2, max_activation: 0.4, sum_activation: 0.9, peak_position: 0, label: null }],
    });
    render(<FeatureDetailView analysisId="an1" latent={7} />);
    await user.type(await screen.findByTestId("feature-probe-text"), "The king");
    await user.click(screen.getByTestId("feature-probe-run"));
    expect(features.probe).toHaveBeenCalledWith("an1", { text: "The king", latent: 7, top: 10 });
    const tokens = await screen.findByTestId("feature-probe-tokens");
    expect(tokens.textContent).toBe("The king");
    expect(within(tokens).getByTitle(/" king": activation 1.50/).style.backgroundColor).not.toBe("");
    expect(within(screen.getByTestId("feature-probe-top")).getByText("#2").closest("a")).toHaveAttribute("href", "/features/analyses/an1/latents/2");
  });

  it("shows the model host's refusal", async () => {
    const user = userEvent.setup();
    features.probe.mockRejectedValue(new ApiError(400, "invalid_input", "the text is 9,000 tokens: the model's context is 8,192"));
    render(<FeatureDetailView analysisId="an1" latent={7} />);
    await user.type(await screen.findByTestId("feature-probe-text"), "long");
    await user.click(screen.getByTestId("feature-probe-run"));
    expect(await screen.findByTestId("feature-probe-error")).toHaveTextContent("the model's context is 8,192 (HTTP 400)");
  });
});
