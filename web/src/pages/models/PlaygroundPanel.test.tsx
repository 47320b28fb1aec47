import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { WsMessage } from "../../api/types";
import { makeModel } from "../../test/fixtures";

const api = vi.hoisted(() => ({ generate: vi.fn(), stopGeneration: vi.fn() }));
vi.mock("../../api/models", () => ({ modelsApi: api }));
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
import { PlaygroundPanel } from "./PlaygroundPanel";

const DONE = { tokens: 2, prompt_tokens: 5, seed: 7, finish_reason: "length", warm: true, format: "fp32", device: "cpu",
  load_seconds: 0, seconds: 0.2, first_token_seconds: 0.05 };

beforeEach(() => {
  api.generate.mockReset();
  api.stopGeneration.mockReset();
  live.channels.length = 0;
});

describe("PlaygroundPanel", () => {
  it("subscribes before it asks, then shows the tokens as they stream and the figures when done", async () => {
    const user = userEvent.setup();
    api.generate.mockResolvedValue({});
    render(<PlaygroundPanel model={makeModel()} />);
    await user.type(screen.getByTestId("playground-prompt"), "the king");
    await user.clear(screen.getByTestId("playground-seed"));
    await user.type(screen.getByTestId("playground-seed"), "7");
    await user.click(screen.getByTestId("playground-generate"));

    const body = api.generate.mock.calls[0]![1];
    expect(body).toMatchObject({ prompt: "the king", seed: 7, temperature: 0, max_new_tokens: 64, use_chat_template: null });
    const channel = `models/m1/generate/${body.request_id}`;
    expect(live.channels).toEqual([channel]);
    expect(screen.getByTestId("playground-stop")).toBeInTheDocument();

    act(() => live.emit({ channel, event: "token", data: { request_id: body.request_id, index: 0, text: " and" } }));
    act(() => live.emit({ channel: "models/m1/generate/other", event: "token", data: { request_id: "other", index: 0, text: "X" } }));
    expect(screen.getByTestId("playground-output")).toHaveTextContent("and");
    act(() => live.emit({ channel, event: "done", data: { request_id: body.request_id, text: " and the", ...DONE } }));
    expect(screen.getByTestId("playground-output")).toHaveTextContent("and the");
    expect(screen.getByTestId("playground-output")).toHaveAttribute("data-state", "done");
    expect(screen.getByTestId("playground-figures")).toHaveTextContent("2 tokens in 0.20s");
    expect(screen.getByTestId("playground-figures")).toHaveTextContent("seed 7");
    expect(live.channels).toEqual([]); // unsubscribed once done
  });

  it("shows the server's message when it refuses, and the host's when it fails", async () => {
    const user = userEvent.setup();
    api.generate.mockRejectedValueOnce(new ApiError(409, "conflict", "model 'm1' cannot generate: it is running"));
    render(<PlaygroundPanel model={makeModel()} />);
    await user.type(screen.getByTestId("playground-prompt"), "hi");
    await user.click(screen.getByTestId("playground-generate"));
    expect(await screen.findByTestId("playground-error")).toHaveTextContent("cannot generate: it is running");
    expect(live.channels).toEqual([]);

    api.generate.mockResolvedValueOnce({});
    await user.click(screen.getByTestId("playground-generate"));
    const { request_id } = api.generate.mock.calls[1]![1];
    const message = "the model host stopped (killed by SIGKILL) while generating with model 'm1'; the next request starts a new one";
    act(() => live.emit({ channel: `models/m1/generate/${request_id}`, event: "error", data: { request_id, code: "host_stopped", message } }));
    expect(screen.getByTestId("playground-error")).toHaveTextContent("the next request starts a new one");
  });
});
