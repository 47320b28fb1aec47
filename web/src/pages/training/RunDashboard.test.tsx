import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { cloneElement, isValidElement, type ReactNode } from "react";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { makeMember, makePoints, makeTraining } from "./fixtures";

const training = vi.hoisted(() => ({ metrics: vi.fn(), pause: vi.fn(), stop: vi.fn(), resume: vi.fn(), remove: vi.fn() }));
vi.mock("../../api/training", async (importOriginal) => ({ ...(await importOriginal<object>()), trainingApi: training }));
// jsdom lays nothing out: give the charts a fixed size instead of measuring their container.
vi.mock("recharts", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ResponsiveContainer: ({ children }: { children: ReactNode }) =>
    isValidElement(children) ? cloneElement(children as React.ReactElement<{ width: number; height: number }>, { width: 600, height: 300 }) : null,
}));

import type { Training } from "../../api/training";
import { useTrainings } from "../../stores/training";
import { useToasts } from "../../stores/toasts";
import { RunDashboard } from "./RunDashboard";
import { TrainingActions } from "./TrainingActions";
import { toCsv } from "./metrics";

beforeAll(() => {
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});

beforeEach(() => {
  useTrainings.getState().reset();
  useToasts.getState().clear();
  for (const fn of Object.values(training)) fn.mockReset();
});

const lineCount = (testId: string) => screen.getByTestId(testId).querySelectorAll(".recharts-line").length;

describe("RunDashboard", () => {
  it("draws a chart per metric with one line per SAE of a sweep", () => {
    const sweep = makeTraining({ members: [makeMember("topk", { k: 16 }), makeMember("topk", { k: 32 }), makeMember("topk", { k: 64 })] });
    render(<RunDashboard training={sweep} points={makePoints(40, 3)} />);
    expect(screen.getByTestId("training-dashboard")).toHaveAttribute("data-steps", "4");
    for (const metric of ["loss", "fvu", "l0", "dead_fraction", "lr", "tokens_per_second"]) {
      expect(screen.getByTestId(`training-chart-${metric}`)).toHaveAttribute("data-points", "4");
      expect(lineCount(`training-chart-${metric}`)).toBe(3);
    }
    // The legend names each SAE by what it differs by.
    expect(screen.getByTestId("training-chart-fvu")).toHaveTextContent("#1 topk k=32 512 latents");
    expect(screen.queryByTestId("training-final-card")).toBeNull();
  });

  it("says when nothing is logged yet, and shows the final figures per SAE with a link to each SAE once done", () => {
    const { rerender } = render(<RunDashboard training={makeTraining()} points={[]} />);
    expect(screen.getByTestId("training-chart-fvu")).toHaveTextContent("No steps logged yet.");
    expect(screen.getByTestId("training-download-csv")).toBeDisabled();
    const done = makeTraining({
      status: "completed",
      active: false,
      ready: true,
      steps_done: 40,
      sae_ids: ["sae-1"],
      final_metrics: [{ fvu: 0.3, holdout_fvu: 0.323, holdout_l0: 8, dead_fraction: 0.0625, model_ce_recovered: 0.418, model_kl: 0.00282 }],
    });
    rerender(<RunDashboard training={done} points={makePoints(40)} />);
    const row = screen.getByTestId("training-final-row-0");
    expect(row).toHaveTextContent("0.323"); // the hold-out FVU, not the last logged one
    expect(row).toHaveTextContent("6.3%");
    expect(row).toHaveTextContent("41.8%");
    expect(row).toHaveTextContent("0.00282");
    expect(within(row).getByTestId("training-sae-link-0")).toHaveAttribute("href", "/training/saes/sae-1");
  });

  it("live steps from the socket join the chart", () => {
    const t = makeTraining({ id: "t1" });
    act(() => useTrainings.setState({ trainings: { t1: t }, series: { t1: makePoints(20) } }));
    const Live = () => <RunDashboard training={useTrainings((s) => s.trainings.t1) as Training} points={useTrainings((s) => s.series.t1) ?? []} />;
    render(<Live />);
    expect(screen.getByTestId("training-chart-fvu")).toHaveAttribute("data-points", "2");
    act(() =>
      useTrainings.getState().onMessage({
        channel: "trainings/t1/metrics",
        event: "metrics",
        data: { training_id: "t1", step: 30, total_steps: 40, members: [{ fvu: 0.2, l0: 8, loss: 0.5 }] },
      }),
    );
    expect(screen.getByTestId("training-chart-fvu")).toHaveAttribute("data-points", "3");
    expect(useTrainings.getState().trainings.t1!.steps_done).toBe(30);
  });

  it("the CSV has a row per SAE and step under the metric names", () => {
    const csv = toCsv(makePoints(20, 2)).trim().split("\n");
    expect(csv[0]).toBe("member,step,loss,mse,fvu,l0,dead_fraction,lr,tokens_per_second");
    expect(csv).toHaveLength(5);
    expect(csv[2]).toMatch(/^1,10,0\.2,/);
  });
});

describe("TrainingActions", () => {
  it("offers Pause and Stop while the server says the run is active, and no Delete", () => {
    render(<TrainingActions training={makeTraining({ status: "running" })} />);
    expect(screen.getByTestId("training-pause")).toBeEnabled();
    expect(screen.getByTestId("training-stop")).toBeEnabled();
    expect(screen.queryByTestId("training-resume")).toBeNull();
    expect(screen.queryByTestId("training-delete")).toBeNull();
  });

  it("follows the flags, not the status: a resumable run offers Resume, whatever its status says", () => {
    render(<TrainingActions training={makeTraining({ status: "failed", active: false, resumable: true })} />);
    expect(screen.getByTestId("training-resume")).toBeEnabled();
    expect(screen.getByTestId("training-delete")).toBeEnabled();
    expect(screen.queryByTestId("training-pause")).toBeNull();
  });

  it("Stop asks first, then asks the server to finish early", async () => {
    const user = userEvent.setup();
    training.stop.mockResolvedValue(makeTraining({ stop_requested: true }));
    render(<TrainingActions training={makeTraining()} />);
    await user.click(screen.getByTestId("training-stop"));
    await user.click(screen.getByTestId("confirm-dialog-cancel"));
    expect(training.stop).not.toHaveBeenCalled();
    await user.click(screen.getByTestId("training-stop"));
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    expect(training.stop).toHaveBeenCalledWith("t1");
  });

  it("Delete asks first; a refusal shows the server's reason", async () => {
    const user = userEvent.setup();
    const { ApiError } = await import("../../api/client");
    training.remove.mockRejectedValueOnce(new ApiError(409, "conflict", "training 't1' is running: pause it first"));
    const onDeleted = vi.fn();
    render(<TrainingActions training={makeTraining({ status: "completed", active: false, ready: true })} onDeleted={onDeleted} />);
    await user.click(screen.getByTestId("training-delete"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("its metrics and its checkpoints are removed");
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    expect(await screen.findByTestId("training-delete-error")).toHaveTextContent("pause it first (HTTP 409)");
    expect(onDeleted).not.toHaveBeenCalled();
    training.remove.mockResolvedValueOnce({ id: "t1", bytes_freed: 1024 });
    await user.click(screen.getByTestId("training-delete"));
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    await vi.waitFor(() => expect(onDeleted).toHaveBeenCalled());
  });
});
