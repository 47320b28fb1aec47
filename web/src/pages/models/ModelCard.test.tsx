import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeModel, makeVariant } from "../../test/fixtures";

const api = vi.hoisted(() => ({ remove: vi.fn(), cancelDownload: vi.fn(), retry: vi.fn() }));
vi.mock("../../api/models", () => ({ modelsApi: api }));

import { useModels } from "../../stores/models";
import { ModelCard } from "./ModelCard";

beforeEach(() => {
  useModels.getState().reset();
  for (const fn of Object.values(api)) fn.mockReset();
});

describe("ModelCard", () => {
  it("shows live download progress with bytes, speed and ETA, and a cancel button", () => {
    const model = makeModel({ id: "m1", status: "running", size_bytes: 0 });
    act(() => {
      useModels.getState().upsert(model);
      useModels.getState().onMessage({
        channel: "models/m1/progress",
        event: "progress",
        data: { model_id: "m1", bytes_done: 1024 * 1024, bytes_total: 4 * 1024 * 1024, bytes_per_second: 512 * 1024, eta_seconds: 6, current_file: "model.safetensors", files_done: 1, files_total: 3 },
      });
    });
    render(<ModelCard model={model} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByTestId("model-progress-m1-bytes")).toHaveTextContent("1.0 MB / 4.0 MB");
    expect(screen.getByTestId("model-progress-m1-speed")).toHaveTextContent("512 KB/s");
    expect(screen.getByTestId("model-progress-m1-eta")).toHaveTextContent("ETA 6s");
    expect(screen.getByTestId("model-cancel-m1")).toBeInTheDocument();
    expect(screen.queryByTestId("model-delete-m1")).not.toBeInTheDocument();
  });

  it("shows the error and offers a retry", async () => {
    const user = userEvent.setup();
    const model = makeModel({ id: "m1", status: "failed", message: "sha256 mismatch in model.safetensors" });
    api.retry.mockResolvedValue(makeModel({ id: "m1", status: "queued" }));
    render(<ModelCard model={model} />);
    expect(screen.getByTestId("model-message-m1")).toHaveTextContent("sha256 mismatch");
    await user.click(screen.getByTestId("model-retry-m1"));
    expect(api.retry).toHaveBeenCalledWith("m1", undefined);
  });

  it("lists variants with measured footprint against the estimate", () => {
    const model = makeModel({ variants: [makeVariant({ requested_format: "q2", format: "q4", footprint_bytes: 200_000, estimate_bytes: 210_000 })] });
    render(<ModelCard model={model} />);
    const variants = screen.getByTestId("model-variants-m1");
    expect(variants).toHaveTextContent("Q2 → Q4");
    expect(variants).toHaveTextContent("+5%");
    expect(variants).toHaveTextContent("device: cpu");
  });

  it("asks before deleting, showing the bytes that will be freed", async () => {
    const user = userEvent.setup();
    const model = makeModel({ id: "m1", size_bytes: 3 * 1024 * 1024 });
    api.remove.mockResolvedValue({ id: "m1", bytes_freed: 3 * 1024 * 1024, variants_removed: 0 });
    render(<ModelCard model={model} />);
    await user.click(screen.getByTestId("model-delete-m1"));
    const dialog = screen.getByTestId("confirm-dialog");
    expect(within(dialog).getByTestId("delete-model-bytes")).toHaveTextContent("3.0 MB");
    expect(api.remove).not.toHaveBeenCalled();
    await user.click(within(dialog).getByTestId("confirm-dialog-confirm"));
    expect(api.remove).toHaveBeenCalledWith("m1");
  });

  it("does not promise to free the size of a linked import, whose files stay where they are", async () => {
    const user = userEvent.setup();
    render(<ModelCard model={makeModel({ id: "m1", size_bytes: 3 * 1024 * 1024, storage_mode: "link" })} />);
    await user.click(screen.getByTestId("model-delete-m1"));
    const summary = within(screen.getByTestId("confirm-dialog")).getByTestId("delete-model-bytes");
    expect(summary).toHaveTextContent("almost nothing");
    expect(summary).not.toHaveTextContent("3.0 MB");
  });
});
