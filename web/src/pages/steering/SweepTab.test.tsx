import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { SteeringMetrics, SweepResult } from "../../api/steering";
import type { WsMessage } from "../../api/types";
import { EMPTY_DRAFT, featureItem, type SteeringDraft } from "./draft";

const api = vi.hoisted(() => ({ sweep: vi.fn(), stop: vi.fn() }));
vi.mock("../../api/steering", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../api/steering")>()),
  steeringApi: api,
}));
const live = vi.hoisted(() => {
  const listeners = new Set<(m: WsMessage) => void>();
  return {
    emit: (m: WsMessage) => listeners.forEach((fn) => fn(m)),
    socket: { onMessage: (fn: (m: WsMessage) => void) => (listeners.add(fn), () => listeners.delete(fn)), subscribe: () => () => {} },
  };
});
vi.mock("../../stores/live", () => ({ socket: live.socket }));

import { SweepTab } from "./SweepTab";
import { useSteeringRun } from "./useSteeringRun";

const DRAFT: SteeringDraft = { ...EMPTY_DRAFT, modelId: "m1", prompt: "the king", items: [featureItem("s1", 3)] };
const metrics = (kl: number): SteeringMetrics => ({ kl_per_position: [kl], kl_mean: kl, perplexity_baseline: 9, perplexity_steered: 9 + kl,
  token_shifts: [], feature_activations: [], word_overlap: 1 });
const RESULT: SweepResult = {
  experiment_id: "e2", request_id: "r", channel: "c", model_id: "m1", seed: 1, format: "fp32", device: "cpu", seconds: 2,
  baseline: { text: " a b", tokens: 2, finish_reason: "length" }, intervention: "add feature 3 × 4 at blocks.1.resid_post (all)",
  random_direction: "add random direction (seed 0) × 4 at blocks.1.resid_post (all)",
  points: [0, 4].flatMap((strength) => (["intervention", "random"] as const).map((kind) => ({
    strength, kind, run: { text: ` ${kind} ${strength}`, tokens: 2, finish_reason: "length" }, metrics: metrics(strength / (kind === "random" ? 4 : 2)),
  }))),
};

function Harness() {
  const run = useSteeringRun<SweepResult>();
  return <SweepTab draft={DRAFT} run={run} onDone={() => {}} initialStrengths={null} />;
}

beforeEach(() => api.sweep.mockReset());

describe("SweepTab", () => {
  it("refuses a grid it cannot read, saying what to write", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.clear(screen.getByTestId("sweep-strengths"));
    await user.type(screen.getByTestId("sweep-strengths"), "1, two");
    await user.click(screen.getByTestId("sweep-run"));
    expect(screen.getByRole("alert")).toHaveTextContent("numbers separated by commas");
    expect(api.sweep).not.toHaveBeenCalled();
  });

  it("streams each run while it sweeps, then charts every strength and lists the outputs", async () => {
    const user = userEvent.setup();
    let answer!: (r: SweepResult) => void;
    api.sweep.mockReturnValue(new Promise<SweepResult>((resolve) => (answer = resolve)));
    render(<Harness />);
    await user.clear(screen.getByTestId("sweep-strengths"));
    await user.type(screen.getByTestId("sweep-strengths"), "0:4:2");
    await user.click(screen.getByTestId("sweep-run"));
    const body = api.sweep.mock.calls[0]![0];
    expect(body).toMatchObject({ strengths: [0, 4], random_baseline: true, intervention: { sae_id: "s1", feature: 3 } });

    const channel = `steering/${body.request_id}`;
    act(() => live.emit({ channel, event: "token", data: { request_id: body.request_id, run: "intervention@4", index: 0, text: " hello" } }));
    expect(screen.getByTestId("sweep-progress")).toHaveTextContent("1 of 4 steered runs started");
    expect(screen.getByTestId("sweep-progress")).toHaveTextContent("intervention@4: hello");

    await act(async () => answer(RESULT));
    expect(screen.getByTestId("sweep-chart")).toHaveAttribute("data-points", "2");
    expect(screen.getByTestId("sweep-outputs").querySelectorAll("tbody tr")).toHaveLength(5);
    expect(screen.getByTestId("sweep-output-random@4")).toHaveTextContent("random 4");
    expect(screen.getByTestId("sweep-figures")).toHaveTextContent("seed 1");
  });
});
