import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Architecture } from "../../api/types";

const api = vi.hoisted(() => ({ architecture: vi.fn() }));
vi.mock("../../api/models", () => ({ modelsApi: api }));

import { ApiError } from "../../api/client";
import { ArchitectureViewer } from "./ArchitectureViewer";

function layer(index: number) {
  return {
    index,
    parameters: 36_992,
    attention: { type: "gqa", num_heads: 4, num_kv_heads: 2, head_dim: 16, sliding_window: null, parameters: 12_288 },
    mlp: { type: "dense" as const, intermediate_size: 128, num_experts: null, experts_per_token: null, parameters: 24_576 },
    norms: ["input_layernorm", "post_attention_layernorm"],
    hook_points: ["resid_pre", "attn_out", "mlp_out", "resid_post"].map((h) => `blocks.${index}.${h}`),
  };
}

const ARCH = {
  model_id: "m1",
  model_type: "llama",
  family: "llama",
  hidden_size: 64,
  num_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  intermediate_size: 128,
  vocab_size: 512,
  context_length: 256,
  num_experts: null,
  num_experts_per_token: null,
  tie_word_embeddings: false,
  torch_dtype: "float32",
  parameters: { total: 139_584, embedding: 32_768, lm_head: 32_768, final_norm: 64, other: 0, per_block: [36_992, 36_992] },
  hook_point_meanings: { resid_pre: "the residual stream entering the block", mlp_out: "what the MLP adds to the residual stream" },
  sliding_window: null,
  layers: [layer(0), layer(1)],
  hook_points: [...layer(0).hook_points, ...layer(1).hook_points],
  config: { model_type: "llama", hidden_size: 64 },
} as Architecture;

beforeEach(() => {
  api.architecture.mockReset();
});

describe("ArchitectureViewer", () => {
  it("shows the summary and expands a block to its attention, MLP, norms and hook points", async () => {
    const user = userEvent.setup();
    api.architecture.mockResolvedValue(ARCH);
    render(<ArchitectureViewer modelId="m1" />);
    expect(await screen.findByTestId("arch-num-layers")).toHaveTextContent("2");
    expect(screen.getByTestId("arch-params")).toHaveTextContent("140K");

    const toggle = screen.getByTestId("arch-layer-1-toggle");
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    const details = screen.getByTestId("arch-layer-1-details");
    expect(details).toHaveTextContent("post_attention_layernorm");
    expect(details).toHaveTextContent("24,576");
    expect(within(details).getByTestId("arch-layer-1-hooks")).toHaveTextContent("blocks.1.mlp_out");

    await user.click(toggle);
    expect(screen.queryByTestId("arch-layer-1-details")).not.toBeInTheDocument();
    expect(screen.getByTestId("arch-config-json")).toHaveTextContent('"hidden_size": 64');
  });

  it("shows the server's error when there is no architecture", async () => {
    api.architecture.mockRejectedValue(new ApiError(409, "conflict", "model 'm1' has no architecture yet (status downloading)"));
    render(<ArchitectureViewer modelId="m1" />);
    expect(await screen.findByTestId("architecture-error")).toHaveTextContent("has no architecture yet");
  });
});
