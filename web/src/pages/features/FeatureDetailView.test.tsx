import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeAnalysis, makeFeatureDetail } from "./fixtures";

const features = vi.hoisted(() => ({ get: vi.fn(), feature: vi.fn(), update: vi.fn() }));
vi.mock("../../api/features", async (importOriginal) => ({ ...(await importOriginal<object>()), featuresApi: features }));

import { ApiError } from "../../api/client";
import { FeatureDetailView, steerHref } from "./FeatureDetailView";

beforeEach(() => {
  features.get.mockReset().mockResolvedValue(makeAnalysis());
  features.feature.mockReset().mockResolvedValue(makeFeatureDetail());
  features.update.mockReset();
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
