import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeJob } from "../test/fixtures";

const { cancelJob } = vi.hoisted(() => ({ cancelJob: vi.fn() }));
vi.mock("../api/endpoints", () => ({
  endpoints: { cancelJob, listJobs: vi.fn(), getJob: vi.fn(), health: vi.fn() },
}));

import { useJobs } from "../stores/jobs";
import { useToasts } from "../stores/toasts";
import { Header } from "./Header";
import { JobsDrawer } from "./JobsDrawer";

beforeEach(() => {
  useJobs.getState().reset();
  useToasts.getState().clear();
  cancelJob.mockReset();
});

describe("JobsDrawer", () => {
  it("renders a running job with its percentage, message and a cancel button", () => {
    act(() => useJobs.getState().applyUpdate(makeJob({ id: "j1", progress: 0.42, message: "layer 3" })));
    render(<JobsDrawer open onClose={() => {}} />);
    const row = screen.getByTestId("job-row-j1");
    expect(row).toHaveAttribute("data-status", "running");
    expect(within(row).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "42");
    expect(within(row).getByTestId("job-progress-j1-percent")).toHaveTextContent("42%");
    expect(within(row).getByText("layer 3")).toBeInTheDocument();
    expect(within(row).getByTestId("job-cancel-j1")).toHaveAccessibleName(/cancel job/i);
    expect(within(row).getByTestId("job-elapsed-j1")).toBeInTheDocument();
  });

  it("asks for confirmation before cancelling, then shows cancelling…", async () => {
    const user = userEvent.setup();
    act(() => useJobs.getState().applyUpdate(makeJob({ id: "j1" })));
    cancelJob.mockResolvedValue(makeJob({ id: "j1", cancel_requested: true }));
    render(<JobsDrawer open onClose={() => {}} />);

    await user.click(screen.getByTestId("job-cancel-j1"));
    expect(screen.getByTestId("confirm-dialog")).toBeInTheDocument();
    expect(cancelJob).not.toHaveBeenCalled();
    await user.click(screen.getByTestId("confirm-dialog-confirm"));

    expect(cancelJob).toHaveBeenCalledWith("j1");
    expect(await screen.findByText("cancelling…")).toBeInTheDocument();
    expect(screen.getByTestId("job-cancel-j1")).toBeDisabled();
  });

  it("keeps the job when the confirmation is dismissed", async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    act(() => useJobs.getState().applyUpdate(makeJob({ id: "j1" })));
    render(<JobsDrawer open onClose={onClose} />);
    await user.click(screen.getByTestId("job-cancel-j1"));
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();
    expect(onClose).not.toHaveBeenCalled(); // Esc closed only the dialog
    expect(cancelJob).not.toHaveBeenCalled();
  });

  it("shows finished jobs with their final status and error; Esc closes", async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    act(() => {
      useJobs.getState().applyUpdate(makeJob({ id: "j2" }));
      useJobs.getState().applyUpdate(makeJob({ id: "j2", status: "failed", error: "Traceback: boom" }));
    });
    render(<JobsDrawer open onClose={onClose} />);
    const row = screen.getByTestId("job-row-j2");
    expect(row).toHaveAttribute("data-status", "failed");
    expect(within(row).getByTestId("job-error-j2")).toHaveTextContent("Traceback: boom");
    expect(within(row).queryByRole("button", { name: /cancel/i })).toBeNull();
    expect(screen.getByTestId("jobs-drawer-empty")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(onClose).toHaveBeenCalled();
  });

  it("header toggle shows the active count and is labelled", () => {
    act(() => {
      useJobs.getState().applyUpdate(makeJob({ id: "a" }));
      useJobs.getState().applyUpdate(makeJob({ id: "b", status: "queued" }));
    });
    render(<Header drawerOpen={false} onToggleDrawer={() => {}} />);
    const toggle = screen.getByTestId("jobs-drawer-toggle");
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    expect(toggle).toHaveAccessibleName(/2 active/);
    expect(screen.getByTestId("active-jobs-count")).toHaveTextContent("2");
  });
});
