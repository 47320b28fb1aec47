import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeModel, makePreview } from "../../test/fixtures";

const api = vi.hoisted(() => ({ preview: vi.fn(), download: vi.fn() }));
vi.mock("../../api/models", () => ({ modelsApi: api }));

import { ApiError } from "../../api/client";
import { useModels } from "../../stores/models";
import { DownloadForm } from "./DownloadForm";

beforeEach(() => {
  useModels.getState().reset();
  api.preview.mockReset();
  api.download.mockReset();
  localStorage.clear();
  sessionStorage.clear();
});

describe("DownloadForm", () => {
  it("checks the repo id as it is typed, with the server's rule", async () => {
    const user = userEvent.setup();
    render(<DownloadForm />);
    const input = screen.getByLabelText("Repo id");
    await user.type(input, "not a repo");
    await user.tab();
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("download-repo-id-error")).toHaveTextContent("owner/name");
    expect(screen.getByTestId("preview-button")).toBeDisabled();
    await user.clear(input);
    await user.type(input, "tiny/llama");
    expect(screen.queryByTestId("download-repo-id-error")).not.toBeInTheDocument();
    expect(screen.getByTestId("preview-button")).toBeEnabled();
  });

  it("fills the preview card, with every format and an unavailable one disabled with its reason", async () => {
    const user = userEvent.setup();
    api.preview.mockResolvedValue(makePreview());
    render(<DownloadForm />);
    await user.type(screen.getByLabelText("Repo id"), "tiny/llama");
    await user.type(screen.getByLabelText("Budget (GB)"), "4");
    await user.click(screen.getByTestId("preview-button"));

    expect(api.preview).toHaveBeenCalledWith(expect.objectContaining({ repo_id: "tiny/llama", budget_gb: 4 }), expect.anything());
    const card = await screen.findByTestId("preview-card");
    expect(within(card).getByTestId("preview-params")).toHaveTextContent("140K");
    expect(within(card).getByTestId("preview-params")).toHaveTextContent("139,584");
    const radios = within(screen.getByTestId("preview-formats")).getAllByRole("radio");
    expect(radios).toHaveLength(7); // download only + 6 formats
    const q2 = screen.getByTestId("preview-formats-q2");
    expect(within(q2).getByRole("radio")).toBeDisabled();
    expect(q2).toHaveTextContent("hqq is not installed");
    await user.click(within(screen.getByTestId("preview-formats-q4")).getByRole("radio"));
    expect(screen.getByTestId("download-button")).toHaveTextContent("Download (Q4)");
  });

  it("shows a preview error inline with the server's text", async () => {
    const user = userEvent.setup();
    api.preview.mockRejectedValue(new ApiError(403, "access_denied", "repo 'meta/x' is gated: accept its licence on the Hub and pass a token"));
    render(<DownloadForm />);
    await user.type(screen.getByLabelText("Repo id"), "meta/x");
    await user.click(screen.getByTestId("preview-button"));
    expect(await screen.findByTestId("preview-error")).toHaveTextContent("accept its licence on the Hub and pass a token (HTTP 403)");
  });

  it("sends the token with the download, then forgets it everywhere", async () => {
    const user = userEvent.setup();
    api.download.mockResolvedValue(makeModel({ id: "new", status: "queued" }));
    render(<DownloadForm />);
    await user.type(screen.getByLabelText("Repo id"), "tiny/llama");
    const token = screen.getByLabelText("Hugging Face token (gated repos)");
    expect(token).toHaveAttribute("type", "password");
    await user.type(token, "hf_secret");
    await user.click(screen.getByTestId("trust-remote-code"));
    await user.click(screen.getByTestId("download-button"));

    expect(api.download).toHaveBeenCalledWith(
      expect.objectContaining({ repo_id: "tiny/llama", token: "hf_secret", trust_remote_code: true, format: null }),
    );
    expect(token).toHaveValue("");
    expect(JSON.stringify(useModels.getState())).not.toContain("hf_secret");
    expect(JSON.stringify({ ...localStorage })).not.toContain("hf_secret");
    expect(JSON.stringify({ ...sessionStorage })).not.toContain("hf_secret");
    expect(useModels.getState().listIds).toEqual(["new"]);
  });

  it("shows a refused download inline", async () => {
    const user = userEvent.setup();
    api.download.mockRejectedValue(new ApiError(429, "rate_limited", "10 downloads per hour: try again in 12 minutes"));
    render(<DownloadForm />);
    await user.type(screen.getByLabelText("Repo id"), "tiny/llama");
    await user.click(screen.getByTestId("download-button"));
    expect(await screen.findByTestId("download-error")).toHaveTextContent("try again in 12 minutes");
  });
});
