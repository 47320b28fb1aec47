import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { CompareResult } from "../../api/steering";
import type { WsMessage } from "../../api/types";
import { EMPTY_DRAFT, featureItem, type SteeringDraft } from "./draft";

const api = vi.hoisted(() => ({ compare: vi.fn(), stop: vi.fn() }));
vi.mock("../../api/steering", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../api/steering")>()),
  steeringApi: api,
}));
const live = vi.hoisted(() => {
  const listeners = new Set<(m: WsMessage) => void>();
  const channels: string[] = [];
  return {
    channels,
    emit: (m: WsMessage) => listeners.forEach((fn) => fn(m)),
    socket: {
      onMessage: (fn: (m: WsMessage) => void) => (listeners.add(fn), () => listeners.delete(fn)),
      subscribe: (channel: string) => (channels.push(channel), () => channels.splice(channels.indexOf(channel), 1)),
    },
  };
});
vi.mock("../../stores/live", () => ({ socket: live.socket }));

import { ApiError } from "../../api/client";
import { CompareTab } from "./CompareTab";
import { useSteeringRun } from "./useSteeringRun";

const DRAFT: SteeringDraft = { ...EMPTY_DRAFT, modelId: "m1", saeId: "s1", prompt: "the king", seed: "3", items: [featureItem("s1", 3, { strength: 8 })] };

const RESULT: CompareResult = {
  experiment_id: "e1", request_id: "", channel: "", model_id: "m1", seed: 3, format: "fp32", device: "cpu", seconds: 1.5,
  baseline: { text: " and the queen", tokens: 3, finish_reason: "length" },
  steered: { text: " and the castle", tokens: 3, finish_reason: "length" },
  interventions: ["add feature 3 × 8 at blocks.1.resid_post (all)"],
  metrics: { kl_per_position: [0, 0.2, 0.5], kl_mean: 0.2333, perplexity_baseline: 12, perplexity_steered: 15.5, token_shifts: [],
    feature_activations: [], word_overlap: 0.5 },
};

function Harness({ onDone = () => {} }: { onDone?: () => void }) {
  const run = useSteeringRun<CompareResult>();
  return <CompareTab draft={DRAFT} run={run} onDone={onDone} />;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

beforeEach(() => {
  api.compare.mockReset();
  api.stop.mockReset();
  live.channels.length = 0;
});

describe("CompareTab", () => {
  it("subscribes before it asks, streams both runs side by side with the diff, stops, then shows the metrics", async () => {
    const user = userEvent.setup();
    const answer = deferred<CompareResult>();
    api.compare.mockReturnValue(answer.promise);
    api.stop.mockResolvedValue({ request_id: "x", stopping: true });
    const onDone = vi.fn();
    render(<Harness onDone={onDone} />);
    await user.click(screen.getByTestId("compare-run"));

    const body = api.compare.mock.calls[0]![0];
    expect(body).toMatchObject({ model_id: "m1", prompt: "the king", seed: 3,
      interventions: [{ sae_id: "s1", feature: 3, strength: 8, mode: "add", positions: "all" }] });
    const channel = `steering/${body.request_id}`;
    expect(live.channels).toEqual([channel]);

    const token = (run: string, index: number, text: string) =>
      act(() => live.emit({ channel, event: "token", data: { request_id: body.request_id, run, index, text } }));
    token("baseline", 0, " and");
    token("steered", 0, " and");
    token("baseline", 1, " the");
    token("steered", 1, " a");
    act(() => live.emit({ channel: "steering/other", event: "token", data: { request_id: "other", run: "steered", index: 2, text: "X" } }));
    expect(screen.getByTestId("steering-baseline-text")).toHaveTextContent("and the");
    expect(screen.getByTestId("steering-steered-text")).toHaveTextContent(/^and a$/);
    expect(screen.getByTestId("steering-steered-text").querySelector("[data-changed]")).toHaveTextContent("a");
    // Every generated token is under the intervention at positions "all".
    expect(screen.getByTestId("steering-steered-text").querySelectorAll("[data-steered]").length).toBeGreaterThan(0);

    await user.click(screen.getByTestId("compare-stop"));
    expect(api.stop).toHaveBeenCalledWith(body.request_id);
    expect(screen.getByTestId("compare-stop")).toHaveTextContent("Stopping");

    await act(async () => answer.resolve({ ...RESULT, request_id: body.request_id }));
    expect(screen.getByTestId("steering-steered-text")).toHaveTextContent("and the castle");
    expect(screen.getByTestId("metric-kl-mean")).toHaveTextContent("0.2333");
    expect(screen.getByTestId("metric-ppl-steered")).toHaveTextContent("15.5");
    expect(screen.getByTestId("metric-word-overlap")).toHaveTextContent("50%");
    expect(screen.getByTestId("compare-figures")).toHaveTextContent("seed 3");
    expect(screen.queryByTestId("compare-stop")).not.toBeInTheDocument();
    expect(live.channels).toEqual([]);
    expect(onDone).toHaveBeenCalled();
  });

  it("shows the server's message, naming the field it refuses", async () => {
    const user = userEvent.setup();
    api.compare.mockRejectedValue(new ApiError(400, "invalid_input",
      "intervention 0: feature 300 is beyond SAE 'tiny', which has 128 features (0–127)"));
    render(<Harness />);
    await user.click(screen.getByTestId("compare-run"));
    expect(await screen.findByTestId("compare-error")).toHaveTextContent("feature 300 is beyond SAE 'tiny'");
    expect(live.channels).toEqual([]);
  });
});
