import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeJob, makeModel } from "../../test/fixtures";

const features = vi.hoisted(() => ({ label: vi.fn() }));
const models = vi.hoisted(() => ({ list: vi.fn() }));
vi.mock("../../api/features", async (importOriginal) => ({ ...(await importOriginal<object>()), featuresApi: features }));
vi.mock("../../api/models", () => ({ modelsApi: models }));

import { ApiError } from "../../api/client";
import { useJobs } from "../../stores/jobs";
import { LabelJobPanel } from "./LabelJobPanel";
import { labelDraftErrors, labelRequest, initialLabelDraft } from "./labelDraft";

beforeEach(() => {
  useJobs.getState().reset();
  features.label.mockReset();
  models.list.mockReset().mockResolvedValue({ items: [makeModel({ id: "m1", name: "SmolLM2-Instruct" })], pagination: { page: 1, limit: 200, total: 1 } });
});

describe("labelling with an LLM", () => {
  it("checks the draft and sends the key only when typed", () => {
    expect(labelDraftErrors({ ...initialLabelDraft, localModelId: "" }).localModelId).toMatch(/^Model: choose/);
    const endpoint = { ...initialLabelDraft, writer: "endpoint" as const, endpoint: "localhost", model: "", top: "0" };
    const errors = labelDraftErrors(endpoint);
    expect(errors.endpoint).toMatch(/^Endpoint: the base URL/);
    expect(errors.model).toMatch(/^Model name/);
    expect(errors.top).toBe("Latents: a whole number from 1 to 10,000");
    const body = labelRequest({ ...endpoint, endpoint: " http://x:8000/v1 ", model: "gpt", top: "5" });
    expect(body).toMatchObject({ endpoint: "http://x:8000/v1", model: "gpt", top: 5 });
    expect(body).not.toHaveProperty("api_key");
    expect(body).not.toHaveProperty("local_model_id");
    expect(labelRequest({ ...endpoint, endpoint: "http://x/v1", model: "gpt", top: "5", apiKey: "sk-1" }).api_key).toBe("sk-1");
  });

  it("starts a job with a studio model, follows it, and refreshes the table when it ends", async () => {
    const user = userEvent.setup();
    const onFinished = vi.fn();
    features.label.mockResolvedValue({ analysis_id: "an1", job_id: "jl", latents: [3, 1], writer: "SmolLM2-Instruct (fp32)" });
    render(<LabelJobPanel analysisId="an1" onFinished={onFinished} />);
    await waitFor(() => expect(screen.getByTestId("label-local-model")).toHaveValue("m1"));
    await user.clear(screen.getByTestId("label-top"));
    await user.type(screen.getByTestId("label-top"), "2");
    await user.click(screen.getByTestId("label-job-start"));
    expect(features.label).toHaveBeenCalledWith("an1", expect.objectContaining({ local_model_id: "m1", top: 2, sort: "frequency" }));
    act(() => useJobs.getState().applyUpdate(makeJob({ id: "jl", status: "running", active: true, progress: 0.5, message: "latent 3: scoring" })));
    expect(await screen.findByTestId("label-job")).toHaveTextContent("2 latents by SmolLM2-Instruct (fp32)");
    expect(screen.getByTestId("label-job")).toHaveTextContent("latent 3: scoring");
    expect(onFinished).not.toHaveBeenCalled();
    act(() => useJobs.getState().applyUpdate(makeJob({ id: "jl", status: "completed", active: false, progress: 1, message: "2 labelled" })));
    await waitFor(() => expect(onFinished).toHaveBeenCalledTimes(1));
    expect(screen.getByTestId("label-job-status")).toHaveAttribute("data-status", "completed");
  });

  it("shows the server's refusal", async () => {
    const user = userEvent.setup();
    features.label.mockRejectedValue(new ApiError(400, "invalid_input", "endpoint http://x/v1 is unreachable: connection refused"));
    render(<LabelJobPanel analysisId="an1" onFinished={vi.fn()} />);
    await user.click(screen.getByTestId("label-writer-endpoint"));
    await user.type(screen.getByTestId("label-endpoint"), "http://x/v1");
    await user.type(screen.getByTestId("label-model"), "gpt");
    await user.click(screen.getByTestId("label-job-start"));
    expect(await screen.findByTestId("label-job-error")).toHaveTextContent("unreachable: connection refused (HTTP 400)");
  });
});
