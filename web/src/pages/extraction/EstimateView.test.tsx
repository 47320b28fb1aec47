import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { EstimateView } from "./EstimateView";
import { makeEstimate } from "./fixtures";

describe("EstimateView", () => {
  it("shows time, storage, peak memory, free disk and how the time was measured", () => {
    render(<EstimateView estimate={makeEstimate()} loading={false} error={null} />);
    expect(screen.getByTestId("extract-estimate-time")).toHaveTextContent("≈ 4s");
    expect(screen.getByTestId("extract-estimate-storage")).toHaveTextContent("1.0 MB");
    expect(screen.getByTestId("extract-estimate-memory")).toHaveTextContent("20.0 MB");
    expect(screen.getByTestId("extract-estimate-memory")).toHaveTextContent("8.0 GB free");
    expect(screen.getByTestId("extract-estimate-disk")).toHaveTextContent("50.0 GB");
    expect(screen.getByTestId("extract-estimate-shape")).toHaveTextContent("64 samples × 64 tokens × d 64 × 1 hook points");
    expect(screen.getByTestId("extract-estimate-calibration")).toHaveTextContent("measured just now: 4 samples (256 tokens) through 2 layers");
    expect(screen.queryByTestId("extract-warnings")).not.toBeInTheDocument();
  });

  it("lists the server's warnings in amber and marks what would not fit", () => {
    const warnings = [
      "this extraction may take over 1 hour (about 2.5 h); consider fewer samples or layers",
      "the activations need 80 GB but only 50 GB is free on the data disk",
    ];
    const estimate = makeEstimate({ warnings, can_start: false, seconds: 9000, calibration: { ...makeEstimate().calibration!, reused: true } });
    render(<EstimateView estimate={estimate} loading={false} error={null} />);
    const shown = screen.getAllByTestId("extract-warning");
    expect(shown.map((w) => w.textContent)).toEqual(warnings);
    expect(shown[0]).toHaveClass("text-amber-200");
    expect(screen.getByTestId("extract-estimate")).toHaveAttribute("data-can-start", "false");
    expect(screen.getByTestId("extract-estimate-storage").querySelector(".text-red-300")).not.toBeNull();
    expect(screen.getByTestId("extract-estimate-time")).toHaveTextContent("2h 30m");
    expect(screen.getByTestId("extract-estimate-calibration")).toHaveTextContent("from an earlier measurement");
  });

  it("says it is estimating before the first answer, and shows an error without a field", () => {
    const { rerender } = render(<EstimateView estimate={null} loading error={null} />);
    expect(screen.getByTestId("extract-estimate")).toHaveTextContent("loads the model once");
    rerender(<EstimateView estimate={null} loading={false} error="model 'm1' is downloading (HTTP 409)" />);
    expect(screen.getByTestId("extract-estimate-error")).toHaveTextContent("downloading");
  });
});
