import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { UploadProgress } from "../../api/datasets";
import { makeDataset } from "./fixtures";

const api = vi.hoisted(() => ({ upload: vi.fn() }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: api }));

import { ApiError } from "../../api/client";
import { useDatasets } from "../../stores/datasets";
import { UploadDialog } from "./UploadDialog";

beforeEach(() => {
  useDatasets.getState().reset();
  api.upload.mockReset();
});

describe("UploadDialog", () => {
  it("uploads the chosen files with the options, showing bytes and % as they go", async () => {
    const user = userEvent.setup();
    let report: (p: UploadProgress) => void = () => undefined;
    let finish: () => void = () => undefined;
    api.upload.mockImplementation(
      (_files, _fields, opts) =>
        new Promise((resolve) => {
          report = opts.onProgress;
          finish = () => resolve(makeDataset({ id: "up", status: "queued", source: "upload", job_id: "j1" }));
        }),
    );
    const onClose = vi.fn();
    render(<UploadDialog open onClose={onClose} />);
    const txt = new File(["a\n".repeat(1000)], "lines.txt", { type: "text/plain" });
    const jsonl = new File(['{"text":"hi"}\n'], "rows.jsonl");
    await user.upload(screen.getByTestId("upload-files"), [txt, jsonl]);
    expect(screen.getByTestId("upload-file-list")).toHaveTextContent("lines.txt");
    expect(screen.getByTestId("upload-file-list")).toHaveTextContent("rows.jsonl");
    await user.click(screen.getByTestId("upload-txt-mode-document"));
    await user.type(screen.getByTestId("upload-name"), "my corpus");
    await user.click(screen.getByTestId("upload-submit"));

    expect(api.upload).toHaveBeenCalledWith(
      [txt, jsonl],
      { format: null, txt_mode: "document", text_column: null, name: "my corpus" },
      expect.objectContaining({ onProgress: expect.any(Function) }),
    );
    act(() => report({ loaded: 1024, total: 4096 }));
    expect(screen.getByTestId("upload-progress-bytes")).toHaveTextContent("1.0 KB / 4.0 KB (25%)");
    expect(screen.getByRole("progressbar", { name: "Upload" })).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByTestId("upload-submit")).toBeDisabled();
    await act(async () => finish());
    expect(onClose).toHaveBeenCalled();
    expect(useDatasets.getState().listIds).toEqual(["up"]);
  });

  it("shows the server's message when the upload is too large", async () => {
    const user = userEvent.setup();
    api.upload.mockRejectedValue(new ApiError(413, "payload_too_large", "request body is larger than the 2048 byte limit (MISTUDIO_UPLOAD_MAX_BYTES)"));
    render(<UploadDialog open onClose={() => undefined} />);
    await user.upload(screen.getByTestId("upload-files"), new File(["x".repeat(4000)], "big.txt"));
    await user.click(screen.getByTestId("upload-submit"));
    expect(await screen.findByTestId("upload-error")).toHaveTextContent("larger than the 2048 byte limit (MISTUDIO_UPLOAD_MAX_BYTES) (HTTP 413)");
    expect(screen.queryByTestId("upload-progress")).not.toBeInTheDocument();
    expect(screen.getByTestId("upload-submit")).toBeEnabled();
  });
});
