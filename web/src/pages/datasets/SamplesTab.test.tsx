import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { navigate } from "../../lib/router";
import { makeDataset, makeTokenization } from "./fixtures";

const api = vi.hoisted(() => ({ samples: vi.fn(), sample: vi.fn() }));
vi.mock("../../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: api }));

import { SamplesTab } from "./SamplesTab";

beforeEach(() => {
  api.samples.mockReset();
  api.sample.mockReset();
  navigate("/datasets/d1?tab=samples");
});

const page = (items: Array<{ index: number; text: string }>, total: number) => ({
  items: items.map((r) => ({ ...r, split: "train", chars: r.text.length })),
  pagination: { page: 1, limit: 20, total },
});

describe("SamplesTab", () => {
  it("pages through a split, searches it, and opens a row to its text and tokens", async () => {
    const user = userEvent.setup();
    api.samples.mockResolvedValue(page([{ index: 0, text: "First row" }, { index: 1, text: "Second row" }], 45));
    const dataset = makeDataset({ tokenizations: [makeTokenization()] });
    render(<SamplesTab dataset={dataset} />);
    expect(await screen.findByTestId("sample-1")).toHaveTextContent("Second row");
    expect(api.samples).toHaveBeenLastCalledWith("d1", { split: "train", search: undefined, page: 1, limit: 20 }, expect.anything());
    expect(screen.getByTestId("samples-range")).toHaveTextContent("1–20 of 45");
    expect(screen.getByTestId("samples-page")).toHaveTextContent("page 1 of 3");

    await user.click(screen.getByTestId("samples-next"));
    expect(api.samples).toHaveBeenLastCalledWith("d1", expect.objectContaining({ page: 2 }), expect.anything());

    api.samples.mockResolvedValue(page([{ index: 7, text: "Wherefore art thou" }], 1));
    await user.type(screen.getByTestId("samples-search"), "wherefore");
    expect(await screen.findByTestId("sample-7")).toBeInTheDocument();
    expect(api.samples).toHaveBeenLastCalledWith("d1", { split: "train", search: "wherefore", page: 1, limit: 20 }, expect.anything());
    expect(within(screen.getByTestId("sample-7")).getByText("Wherefore").tagName).toBe("MARK");

    api.sample.mockResolvedValue({
      index: 7,
      split: "train",
      text: "Wherefore art thou",
      chars: 18,
      tokenization_id: "t1",
      sequences: [{ text: "<s>Wherefore art thou", tokens: [{ id: 1, token: "<s>" }, { id: 900, token: "Where" }, { id: 901, token: "fore" }] }],
    });
    await user.click(screen.getByTestId("sample-toggle-7"));
    expect(api.sample).toHaveBeenCalledWith("d1", 7, { split: "train", tokenization_id: "t1" }, expect.anything());
    expect(await screen.findByTestId("sample-tokens-0")).toHaveAttribute("data-count", "3");
    expect(screen.getByTestId("sample-token-count")).toHaveTextContent("3 tokens in 1 sequence");
    expect(screen.getByTestId("sample-raw-text")).toHaveTextContent("Wherefore art thou");
  });

  it("switches splits and says when a search finds nothing", async () => {
    const user = userEvent.setup();
    api.samples.mockResolvedValue(page([], 0));
    render(<SamplesTab dataset={makeDataset()} />);
    await user.selectOptions(screen.getByTestId("samples-split"), "test");
    expect(api.samples).toHaveBeenLastCalledWith("d1", expect.objectContaining({ split: "test" }), expect.anything());
    await user.type(screen.getByTestId("samples-search"), "zzz");
    expect(await screen.findByText("No row of test contains “zzz”.")).toBeInTheDocument();
  });
});
