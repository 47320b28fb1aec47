import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ProgressBar } from "./ProgressBar";

describe("ProgressBar", () => {
  it("shows the percentage and exposes it to assistive tech", () => {
    render(<ProgressBar value={0.423} label="Training" data-testid="pb" />);
    const bar = screen.getByRole("progressbar", { name: "Training" });
    expect(bar).toHaveAttribute("aria-valuenow", "42");
    expect(screen.getByTestId("pb-percent")).toHaveTextContent("42%");
  });

  it("clamps out-of-range values and never shows 100% early", () => {
    const { rerender } = render(<ProgressBar value={1.7} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    rerender(<ProgressBar value={-1} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "0");
    rerender(<ProgressBar value={0.999} />);
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "99");
  });

  it("renders an indeterminate bar without a number", () => {
    render(<ProgressBar value={0} indeterminate />);
    expect(screen.getByRole("progressbar")).not.toHaveAttribute("aria-valuenow");
    expect(screen.getByText("—")).toBeInTheDocument();
  });
});
