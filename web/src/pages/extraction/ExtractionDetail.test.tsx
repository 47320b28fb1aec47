import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { cloneElement, isValidElement, type ReactNode } from "react";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { makeExtraction, makeHookSummary } from "./fixtures";

const extraction = vi.hoisted(() => ({ statistics: vi.fn(), remove: vi.fn() }));
vi.mock("../../api/extraction", async (importOriginal) => ({ ...(await importOriginal<object>()), extractionApi: extraction }));
// jsdom lays nothing out: give the charts a fixed size instead of measuring their container.
vi.mock("recharts", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ResponsiveContainer: ({ children }: { children: ReactNode }) =>
    isValidElement(children) ? cloneElement(children as React.ReactElement<{ width: number; height: number }>, { width: 600, height: 300 }) : null,
}));

import { ApiError } from "../../api/client";
import { useExtractions } from "../../stores/extraction";
import { useToasts } from "../../stores/toasts";
import { ExtractionDetail } from "./ExtractionDetail";
import { histogramRows, short } from "./ExtractionStatistics";

beforeAll(() => {
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});

beforeEach(() => {
  useExtractions.getState().reset();
  useToasts.getState().clear();
  extraction.statistics.mockResolvedValue({
    "blocks.0.resid_post": { ...makeHookSummary(), dim_mean: [0, 1, 2], dim_var: [1, 10, 100] },
    "blocks.1.resid_post": { ...makeHookSummary(), dim_mean: [0, 1, 2], dim_var: [2, 20, 200] },
  });
});

describe("ExtractionDetail", () => {
  it("shows the metadata, the path and the statistics of each hook point as a table and charts", async () => {
    render(<ExtractionDetail extraction={makeExtraction()} onClose={() => {}} onDeleted={() => {}} />);
    expect(screen.getByTestId("extraction-detail-path")).toHaveTextContent("/data/activations/e1");
    expect(screen.getByTestId("extraction-detail-info")).toHaveTextContent("64 of 64 × 64 tokens × d 64");
    const stats = await screen.findByTestId("extraction-statistics");
    expect(screen.getByTestId("extraction-stats-row-blocks.0.resid_post")).toHaveTextContent("4,096");
    expect(screen.getByTestId("extraction-stats-row-blocks.1.resid_post")).toHaveTextContent("20");
    expect(screen.getByTestId("extraction-stats-row-blocks.0.resid_post")).toHaveTextContent("1.00%");
    expect(screen.getByTestId("extraction-chart-histogram").querySelectorAll(".recharts-bar-rectangle")).toHaveLength(4);
    expect(screen.getByTestId("extraction-chart-across").querySelectorAll(".recharts-bar-rectangle")).toHaveLength(2);
    expect(await screen.findByTestId("extraction-chart-variance")).toBeInTheDocument();
    await act(async () => {});
    expect(stats.querySelector("[data-testid='extraction-chart-variance'] .recharts-line")).not.toBeNull();
    expect(extraction.statistics).toHaveBeenCalledWith("e1", expect.anything());
  });

  it("deletes after asking and says what was freed; a refusal shows the server's reason", async () => {
    const user = userEvent.setup();
    const onDeleted = vi.fn();
    act(() => useExtractions.setState({ extractions: { e1: makeExtraction() }, byModel: { m1: ["e1"] } }));
    render(<ExtractionDetail extraction={makeExtraction()} onClose={() => {}} onDeleted={onDeleted} />);

    extraction.remove.mockRejectedValueOnce(
      new ApiError(409, "conflict", "extraction 'e1' cannot be deleted: job j2 (training.train) uses it; cancel that job first or wait for it to finish"),
    );
    await user.click(screen.getByTestId("extraction-delete"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("freeing about 2.0 MB");
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    expect(await screen.findByTestId("extraction-delete-error")).toHaveTextContent("training.train) uses it; cancel that job first");
    expect(onDeleted).not.toHaveBeenCalled();
    expect(useExtractions.getState().byModel.m1).toEqual(["e1"]);

    extraction.remove.mockResolvedValueOnce({ id: "e1", bytes_freed: 2_100_000 });
    await user.click(screen.getByTestId("extraction-delete"));
    await user.click(screen.getByTestId("confirm-dialog-confirm"));
    expect(onDeleted).toHaveBeenCalledWith(2_100_000);
    expect(useExtractions.getState().byModel.m1).toEqual([]);
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "success", message: "Freed 2.0 MB." });
  });

  it("has no Delete while it runs, and labels histogram bins readably", () => {
    render(<ExtractionDetail extraction={makeExtraction({ status: "running", samples_done: 8 })} onClose={() => {}} onDeleted={() => {}} />);
    expect(screen.queryByTestId("extraction-delete")).not.toBeInTheDocument();
    expect(screen.getByTestId("extraction-cancel-e1")).toBeInTheDocument();
    expect(histogramRows(makeHookSummary()).map((r) => r.x)).toEqual(["-1.5", "-0.5", "0.5", "1.5"]);
    expect(histogramRows(makeHookSummary({ histogram: { edges: [0, 1, 2], counts: [0, 3] } }), true).map((r) => r.count)).toEqual([null, 3]);
    expect(histogramRows(makeHookSummary({ histogram: { edges: null, counts: [] } }))).toEqual([]);
    expect([short(1234.5), short(0.00001), short(null)]).toEqual(["1230", "1.00e-5", "—"]);
  });
});
