/** Test data for the Training unit tests (typed by the generated schema). */
import type { MetricPoint, Training, TrainingEstimate } from "../../api/training";
import { lifecycle } from "../../test/fixtures";

export function makeMember(architecture = "topk", over: { d_sae?: number; k?: number | null; lr?: number; sparsity_coefficient?: number } = {}) {
  return {
    config: { architecture, d_in: 64, d_sae: over.d_sae ?? 512, d_out: 64, k: over.k === undefined ? (architecture === "topk" ? 32 : null) : over.k },
    hyperparameters: { lr: over.lr ?? 4e-4, sparsity_coefficient: over.sparsity_coefficient ?? 5, schedule: "constant", warmup_steps: 0 },
  };
}

export function makeTraining(over: Partial<Training> = {}): Training {
  const flags = lifecycle(over.status ?? "running", "resume");
  return {
    id: "t1",
    name: "topk_512_blocks.1.resid_post_run",
    model_id: "m1",
    model_name: "tiny/llama",
    source: "extraction",
    extraction_id: "e1",
    dataset_id: null,
    tokenization_id: null,
    format: null,
    hook_point: "blocks.1.resid_post",
    target_hook_point: null,
    d_in: 64,
    d_out: 64,
    members: [makeMember()],
    settings: { batch_tokens: 64, seed: 0, device: "cpu", log_every: 10, checkpoint_every: 10, keep_checkpoints: 2 },
    total_steps: 40,
    steps_done: 20,
    tokens_per_second: 12_000,
    eta_seconds: 3,
    latest_metrics: [{ fvu: 0.42, l0: 8, loss: 1.2 }],
    final_metrics: null,
    sae_ids: [],
    stop_requested: false,
    seconds: null,
    ...flags,
    message: null,
    progress: 0.5,
    job_id: "job-t1",
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:02Z",
    completed_at: null,
    ...over,
  } as Training;
}

/** Points of `members` SAEs at steps 10, 20, … `steps`, with falling loss and FVU. */
export function makePoints(steps = 40, members = 1, every = 10): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let step = every; step <= steps; step += every) {
    for (let member = 0; member < members; member++) {
      points.push({
        member,
        step,
        values: { loss: 2 / step, fvu: 1 / (1 + step / 10) + member * 0.05, l0: 8 + member, dead_fraction: 0.1, lr: 4e-4, tokens_per_second: 10_000, mse: 0.1 },
      });
    }
  }
  return points;
}

/** The server's estimate of a run of `members` SAEs of 2·64·512 weights, 40 steps of 64 tokens. */
export function makeEstimate(members = 1, over: Partial<TrainingEstimate> = {}): TrainingEstimate {
  const sae = { parameters: 66_112, memory_bytes: 1_200_000, checkpoint_bytes: 800_000, seconds_per_step: 0.004 };
  return {
    total_steps: 40,
    tokens: 2_560,
    train_tokens: 1_311,
    epochs: 2_560 / 1_311,
    saes: Array.from({ length: members }, () => sae),
    memory_bytes: members * 1_200_000 + 300_000,
    disk_bytes: members * 2_700_000,
    seconds: members * 0.16,
    warnings: [],
    ...over,
  };
}
