import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { HubDatasetPreview } from "../../api/datasets";
import { makeDataset } from "./fixtures";

const api = vi.hoisted(() => ({ preview: vi.fn(), download: vi.fn() }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: api }));

import { ApiError } from "../../api/client";
import { useDatasets } from "../../stores/datasets";
import { HubDownloadForm } from "./HubDownloadForm";

const preview: HubDatasetPreview = {
  repo_id: "fake/reviews",
  revision: "0123456789abcdef0123",
  gated: true,
  private: false,
  license: "cc-by-4.0",
  download_bytes: 3 * 1024 * 1024,
  configs: [
    { config: "plain", splits: [{ split: "train", files: 2, bytes: 2 * 1024 * 1024 }, { split: "test", files: 1, bytes: 512 * 1024 }] },
    { config: "extra", splits: [{ split: "train", files: 1, bytes: 512 * 1024 }] },
  ],
};

beforeEach(() => {
  useDatasets.getState().reset();
  api.preview.mockReset();
  api.download.mockReset();
});

describe("HubDownloadForm", () => {
  it("previews configs and splits with sizes, then downloads the chosen ones with the token once", async () => {
    const user = userEvent.setup();
    api.preview.mockResolvedValue(preview);
    api.download.mockResolvedValue(makeDataset({ id: "hub1", source: "hub", status: "queued", repo_id: "fake/reviews" }));
    render(<HubDownloadForm />);
    await user.type(screen.getByTestId("dataset-repo-id"), "fake/reviews");
    await user.type(screen.getByTestId("dataset-token"), "hf_secret");
    await user.click(screen.getByTestId("dataset-preview-button"));
    expect(api.preview).toHaveBeenCalledWith({ repo_id: "fake/reviews", revision: null, token: "hf_secret" }, expect.anything());

    const card = await screen.findByTestId("dataset-preview-card");
    expect(card).toHaveTextContent("gated");
    expect(card).toHaveTextContent("cc-by-4.0");
    expect(within(screen.getByTestId("dataset-preview-splits")).getAllByRole("row")).toHaveLength(4);
    expect(screen.getByTestId("dataset-download-button")).toHaveTextContent("Download (2.5 MB)");

    await user.selectOptions(screen.getByTestId("dataset-split"), "test");
    expect(screen.getByTestId("dataset-download-button")).toHaveTextContent("Download (512 KB)");
    await user.type(screen.getByTestId("dataset-text-column"), "review");
    await user.click(screen.getByTestId("dataset-download-button"));
    expect(api.download).toHaveBeenCalledWith({
      repo_id: "fake/reviews",
      revision: null,
      token: "hf_secret",
      config: "plain",
      split: "test",
      text_column: "review",
      name: null,
    });
    expect(screen.getByTestId("dataset-token")).toHaveValue("");
    expect(useDatasets.getState().listIds).toEqual(["hub1"]);
  });

  it("shows the server's answer for an unknown repo", async () => {
    const user = userEvent.setup();
    api.preview.mockRejectedValue(new ApiError(404, "not_found", "dataset repo 'fake/nope' not found on the Hub"));
    render(<HubDownloadForm />);
    await user.type(screen.getByTestId("dataset-repo-id"), "fake/nope");
    await user.click(screen.getByTestId("dataset-preview-button"));
    expect(await screen.findByTestId("dataset-preview-error")).toHaveTextContent("not found on the Hub (HTTP 404)");
  });
});
