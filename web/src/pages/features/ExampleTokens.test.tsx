import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ExampleTokens, tintOf, tokenStyle, visibleToken, windowOf } from "./ExampleTokens";
import { makeExample } from "./fixtures";

describe("an example's tokens", () => {
  it("tint by the activation against the latent's max, silent tokens untinted", () => {
    expect(tintOf(1, 2)).toBe(0.5);
    expect(tintOf(3, 2)).toBe(1);
    expect(tintOf(0, 2)).toBe(0);
    expect(tintOf(1, 0)).toBe(0);
    expect(tokenStyle(0, 2)).toEqual({});
    expect(tokenStyle(2, 2).backgroundColor).toBe("rgba(245, 158, 11, 0.900)");
  });

  it("show every token of the window with its value on hover, and skip the padding", () => {
    const example = makeExample({ delta_loss: [null, 0.01, 0.25, null] });
    render(<ExampleTokens example={windowOf(example)} scale={2} testId="ex" />);
    const box = screen.getByTestId("ex");
    expect(box.textContent).toBe("the king rode");
    const king = screen.getByTitle(/" king": activation 2.00/);
    expect(king).toHaveAttribute("data-activation", "2");
    expect(king.getAttribute("title")).toContain("Δ loss when ablated 0.250");
    expect(king.style.backgroundColor).not.toBe("");
    expect(screen.getByTitle(/"the": activation 0$|"the": activation 0,/).style.backgroundColor).toBe("");
    expect(screen.getAllByTestId("feature-token-active")).toHaveLength(2);
  });

  it("make line breaks visible", () => {
    expect(visibleToken("a\nb\t")).toBe("a↵b⇥");
  });
});

describe("the activation histogram", () => {
  it("keeps the bins from the first to the last counted one, bounds as activations", async () => {
    const { histogramBars } = await import("./ActivationHistogram");
    const bars = histogramBars({ counts: [0, 2, 0, 5, 0, 0], log10_edges: [-3, -2, -1, 0, 1, 2, 3] });
    expect(bars.map((b) => b.count)).toEqual([2, 0, 5]);
    expect(bars[0]!.low).toBeCloseTo(0.01);
    expect(bars[2]!.high).toBeCloseTo(10);
    expect(histogramBars({ counts: [0, 0], log10_edges: [0, 1, 2] })).toEqual([]);
  });
});
