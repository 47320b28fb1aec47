import { render, screen } from "@testing-library/react";
import { cloneElement, isValidElement, type ReactNode } from "react";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { makeDataset, makeStatistics, makeTokenization } from "./fixtures";
import { histogramRows, StatisticsTab, topTokenRows } from "./StatisticsTab";

// jsdom lays nothing out: give the charts a fixed size instead of measuring their container.
vi.mock("recharts", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ResponsiveContainer: ({ children }: { children: ReactNode }) =>
    isValidElement(children) ? cloneElement(children as React.ReactElement<{ width: number; height: number }>, { width: 600, height: 300 }) : null,
}));

beforeAll(() => {
  // recharts' ResponsiveContainer observes its size; jsdom has no ResizeObserver.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});

describe("StatisticsTab", () => {
  it("shows the numbers of the chosen tokenization and both charts", () => {
    render(<StatisticsTab dataset={makeDataset({ tokenizations: [makeTokenization()] })} />);
    expect(screen.getByTestId("stat-sequences")).toHaveTextContent("1,200");
    expect(screen.getByTestId("stat-tokens")).toHaveTextContent("153,600");
    expect(screen.getByTestId("stat-min-max")).toHaveTextContent("3 / 256");
    expect(screen.getByTestId("stat-mean-median")).toHaveTextContent("128.0 / 127");
    expect(screen.getByTestId("stat-unique")).toHaveTextContent("338");
    expect(screen.getByTestId("stat-unique")).toHaveTextContent("of 512");
    expect(screen.getByTestId("stat-coverage")).toHaveTextContent("66.0%");
    expect(screen.getByTestId("chart-length-histogram")).toBeInTheDocument();
    expect(screen.getByTestId("chart-top-tokens")).toHaveTextContent("Top 2 tokens");
    expect(screen.getByTestId("chart-length-histogram").querySelectorAll(".recharts-bar-rectangle")).toHaveLength(4);
    expect(screen.getByTestId("chart-top-tokens")).toHaveTextContent("·the");
  });

  it("explains where statistics come from when nothing is tokenized", () => {
    render(<StatisticsTab dataset={makeDataset({ tokenizations: [makeTokenization({ status: "running", statistics: null })] })} />);
    expect(screen.getByTestId("statistics-empty")).toHaveTextContent("Tokenize this dataset");
  });

  it("labels histogram bins as token ranges and top tokens readably", () => {
    expect(histogramRows(makeStatistics()).map((r) => r.range)).toEqual(["3–66", "66–130", "130–193", "193–256"]);
    const narrow = makeStatistics({ length: { min: 128, max: 128, mean: 128, median: 128, histogram: [{ start: 127.5, end: 127.55, count: 0 }] } });
    expect(histogramRows(narrow)[0]!.range).toBe("127.5–127.55");
    expect(topTokenRows(makeStatistics()).map((r) => r.label)).toEqual(["␣", "·the"]);
  });
});
