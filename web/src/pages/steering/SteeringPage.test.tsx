import { render, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeModel } from "../../test/fixtures";

const page = <T,>(items: T[]) => Promise.resolve({ items, pagination: { page: 1, limit: 50, total: items.length } });
const apis = vi.hoisted(() => ({
  models: { list: vi.fn() },
  training: { listSaes: vi.fn() },
  features: { list: vi.fn(), features: vi.fn() },
  steering: { directions: vi.fn(), presets: vi.fn(), experiments: vi.fn() },
}));
vi.mock("../../api/models", () => ({ modelsApi: apis.models }));
vi.mock("../../api/training", () => ({ trainingApi: apis.training }));
vi.mock("../../api/features", () => ({ featuresApi: apis.features }));
vi.mock("../../api/steering", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../api/steering")>()),
  steeringApi: apis.steering,
}));
vi.mock("../../stores/live", () => ({ socket: { onMessage: () => () => {}, subscribe: () => () => {} } }));

import SteeringPage from "./SteeringPage";

const SAE = { id: "s1", name: "tiny-sae", hook_point: "blocks.1.resid_post", d_sae: 128, architecture: "topk", model_id: "m1" };

beforeEach(() => {
  apis.models.list.mockReturnValue(page([makeModel()]));
  apis.training.listSaes.mockReturnValue(page([SAE]));
  apis.features.list.mockReturnValue(page([{ id: "a1", sae_id: "s1", ready: true, num_sequences: 40, created_at: "2026-12-04T10:00:00Z" }]));
  apis.features.features.mockReturnValue(page([{ latent: 7, label: "royalty", max_activation: 2.5 }]));
  apis.steering.directions.mockReturnValue(page([]));
  apis.steering.presets.mockReturnValue(page([]));
  window.history.replaceState(null, "", "/steering?model=m1&sae=s1&feature=7");
});

describe("SteeringPage", () => {
  it("preselects the model, SAE and feature of the link, uses the SAE's analysis and names the feature", async () => {
    render(<SteeringPage />);
    await waitFor(() => expect(screen.getByTestId("steering-sae")).toHaveValue("s1"));
    expect(screen.getByTestId("steering-model")).toHaveValue("m1");
    expect(screen.getByTestId("steering-hook-point")).toHaveTextContent("blocks.1.resid_post");
    await waitFor(() => expect(screen.getByTestId("steering-analysis")).toHaveValue("a1"));
    expect(apis.features.list).toHaveBeenCalledWith("s1", expect.anything());
    // The feature's label and max activation come from the analysis (by its index).
    await waitFor(() => expect(screen.getByTestId("intervention-0")).toHaveTextContent("Feature #7 · royalty"));
    expect(apis.features.features).toHaveBeenCalledWith("a1", { latent: 7, limit: 1 });
    expect(apis.training.listSaes).toHaveBeenCalledWith({ model_id: "m1", limit: 200 }, expect.anything());
  });
});
