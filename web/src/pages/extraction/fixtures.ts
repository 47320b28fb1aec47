/** Test data for the Extraction unit tests (typed by the generated schema). */
import type { Extraction, ExtractionEstimate, HookStatisticsSummary } from "../../api/extraction";
import type { ExtractionTemplate } from "../../api/templates";
import { lifecycle } from "../../test/fixtures";

export function makeHookSummary(over: Partial<HookStatisticsSummary> = {}): HookStatisticsSummary {
  return {
    tokens: 4096,
    d: 64,
    mean_norm: 12.5,
    max_abs: 40.2,
    sparsity: 0.01,
    sparsity_eps: 1e-6,
    histogram: { edges: [-2, -1, 0, 1, 2], counts: [10, 500, 480, 20] },
    ...over,
  };
}

export function makeExtraction(over: Partial<Extraction> = {}): Extraction {
  const flags = lifecycle(over.status ?? "completed", "resume");
  return {
    id: "e1",
    name: "resid_post_layers0-1_64samples_Shakespeare",
    model_id: "m1",
    model_name: "tiny/llama",
    format: "fp32",
    device: "cpu",
    dataset_id: "d1",
    dataset_name: "Shakespeare's works",
    tokenization_id: "t1",
    layers: [0, 1],
    hook_types: ["resid_post"],
    hook_points: ["blocks.0.resid_post", "blocks.1.resid_post"],
    max_samples: 64,
    num_samples: 64,
    seq_len: 64,
    d_model: 64,
    batch_size: 16,
    final_batch_size: 16,
    dtype: "fp32",
    ...flags,
    message: null,
    progress: flags.ready ? 1 : 0,
    samples_done: 64,
    samples_per_second: 32,
    tokens_per_second: 2048,
    seconds: 2,
    size_bytes: 2_100_000,
    estimate_bytes: 2_101_248,
    oom_retries: [],
    statistics: { "blocks.0.resid_post": makeHookSummary(), "blocks.1.resid_post": makeHookSummary({ mean_norm: 20 }) },
    path: "/data/activations/e1",
    job_id: "job-e1",
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:02Z",
    completed_at: "2025-01-01T10:00:02Z",
    ...over,
  } as Extraction;
}

export function makeEstimate(over: Partial<ExtractionEstimate> = {}): ExtractionEstimate {
  return {
    samples: 64,
    seq_len: 64,
    d_model: 64,
    hook_points: ["blocks.1.resid_post"],
    layers_run: 2,
    storage_bytes: 1_052_672,
    free_disk_bytes: 50 * 1024 ** 3,
    peak_memory_bytes: 20 * 1024 ** 2,
    available_memory_bytes: 8 * 1024 ** 3,
    seconds: 3.2,
    calibration: {
      samples: 4,
      tokens: 256,
      layers_run: 2,
      seconds: 0.05,
      seconds_per_token_layer: 0.0001,
      format: "fp32",
      device: "cpu",
      reused: false,
    },
    warnings: [],
    can_start: true,
    ...over,
  };
}

export function makeTemplate(over: Partial<ExtractionTemplate> = {}): ExtractionTemplate {
  return {
    id: "tpl1",
    name: "resid_post_layers0-1_64samples_1430",
    description: null,
    layers: [0, 1],
    hook_points: ["resid_post"],
    max_samples: 64,
    batch_size: 16,
    dtype: "fp16",
    is_favorite: false,
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    ...over,
  };
}
