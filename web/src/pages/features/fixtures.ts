/** Analyses and latents as the API answers them, for the Features tests. */
import type { Analysis, FeatureDetail, FeatureExample } from "../../api/features";

export function makeAnalysis(over: Partial<Analysis> = {}): Analysis {
  return {
    id: "an1",
    sae_id: "sae1",
    sae_name: "topk-e2e",
    model_id: "m1",
    model_name: "tiny-llama",
    format: "fp32",
    device: "cpu",
    dataset_id: "d1",
    tokenization_id: "t1",
    source: "holdout",
    first_sequence: 54,
    num_sequences: 6,
    width: 48,
    settings: {},
    phase: "complete",
    sequences_done: 6,
    tokens_per_second: 1000,
    tokens: 144,
    dead_count: 3,
    seconds: 1.5,
    path: "/data/features/an1",
    created_at: "2026-12-04T22:00:00Z",
    updated_at: "2026-12-04T22:00:02Z",
    completed_at: "2026-12-04T22:00:02Z",
    status: "completed",
    message: null,
    progress: 1,
    job_id: "j1",
    active: false,
    resumable: false,
    retryable: false,
    ready: true,
    ...over,
  } as Analysis;
}

export function makeExample(over: Partial<FeatureExample> = {}): FeatureExample {
  return {
    kind: "top",
    rank: 0,
    interval: -1,
    activation: 2,
    sequence: 3,
    position: 2,
    tokens: [-1, 10, 11, 12],
    texts: ["", "the", " king", " rode"],
    activations: [0, 0, 2, 0.5],
    delta_loss: null,
    ...over,
  };
}

export function makeFeatureDetail(over: Partial<FeatureDetail> = {}): FeatureDetail {
  return {
    latent: 7,
    frequency: 0.05,
    max_activation: 2,
    mean_activation: 0.1,
    dead: false,
    label: "king",
    label_kind: "automatic",
    label_score: null,
    favourite: false,
    notes: null,
    active_count: 12,
    mean_when_active: 1.2,
    histogram: { counts: [1, 3, 8], log10_edges: [-1, -0.5, 0, 0.5] },
    examples: [makeExample(), makeExample({ kind: "interval", rank: 0, interval: 3, activation: 0.5, activations: [0, 0.5, 0, 0] })],
    promoted: [{ token: 12, text: " crown", value: 0.9 }],
    suppressed: [{ token: 13, text: " river", value: -0.7 }],
    neighbours: [{ latent: 9, value: 0.61, label: "queen" }],
    correlations: [{ latent: 3, value: 0.42, label: null }],
    ablation_mean_delta_loss: 0.031,
    interval_kind: "equal-width",
    ...over,
  } as FeatureDetail;
}
