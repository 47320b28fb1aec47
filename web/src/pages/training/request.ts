/**
 * The request a valid training draft makes, and how the server's refusal of one maps back onto the form's fields.
 */
import { fieldOfApiError } from "../../api/client";
import { isKFamily, type SAESpec, type TrainRequest } from "../../api/training";
import { isOneOf } from "../../lib/oneOf";
import { FIELDS, parseNumber, sweepList, sweepTexts, type DraftField, type SweepParam, type TrainingDraft } from "./draft";

/** The server's defaults (training/schemas.py) for what the form does not ask; the generated types want every field. */
const SPEC_DEFAULTS = {
  optimizer: "adam",
  weight_decay: 0,
  lr_end_fraction: 0,
  sparsity_coefficient: 5,
  sparsity_warmup_steps: 0,
  aux_coefficient: 1 / 32,
  resample_every: 0,
} as const satisfies Partial<SAESpec>;
const RUN_DEFAULTS = {
  holdout_fraction: 0.05,
  compute_dtype: "float32",
  normalize_input: true,
  b_dec_init: "geometric_median",
  dead_window_tokens: 1_000_000,
  keep_checkpoints: 2,
  eval_sequences: 16,
} as const satisfies Partial<TrainRequest>;

function specOf(d: TrainingDraft, override: { param: SweepParam; value: number } | null): SAESpec {
  const get = (param: SweepParam, text: string) => (override?.param === param ? override.value : parseNumber(text));
  const kFamily = isKFamily(d.architecture);
  const spec: SAESpec = {
    ...SPEC_DEFAULTS,
    architecture: d.architecture,
    expansion_factor: d.widthMode === "expansion" ? get("expansion_factor", d.expansionFactor) : null,
    width: d.widthMode === "width" ? parseNumber(d.width) : null,
    k: kFamily ? get("k", d.k) : null,
    lr: get("lr", d.lr),
    schedule: d.schedule,
    warmup_steps: parseNumber(d.warmupSteps),
  };
  if (!kFamily) spec.sparsity_coefficient = get("sparsity_coefficient", d.sparsityCoefficient);
  return spec;
}

/**
 * The request of a valid draft: one SAE, or one per swept value. A hook point sweep puts each SAE on its hook point
 * (the run's is the first) and makes no transcoder: they all share one read of the activations.
 */
export function toRequest(d: TrainingDraft): TrainRequest {
  const points = d.sweepParam === "hook_point" ? sweepTexts(d) : [];
  const values = points.length ? [] : sweepList(d);
  const saes = points.length
    ? points.map((hook_point) => ({ ...specOf(d, null), hook_point, target_hook_point: null }))
    : values.length
      ? values.map((value) => specOf(d, { param: d.sweepParam, value }))
      : [specOf(d, null)];
  return {
    ...RUN_DEFAULTS,
    extraction_id: d.source === "extraction" ? d.extractionId : null,
    stream:
      d.source === "stream"
        ? {
            model_id: d.modelId,
            dataset_id: d.datasetId,
            tokenization_id: d.tokenizationId,
            format: d.format,
            forward_batch_size: parseNumber(d.forwardBatchSize),
            max_samples: d.maxSamples.trim() === "" ? null : parseNumber(d.maxSamples),
          }
        : null,
    hook_point: points[0] ?? d.hookPoint,
    target_hook_point: points.length ? null : d.targetHookPoint || null,
    name: d.name.trim() || null,
    saes,
    steps: d.lengthMode === "steps" ? parseNumber(d.steps) : null,
    total_tokens: d.lengthMode === "tokens" ? parseNumber(d.totalTokens) : null,
    batch_tokens: parseNumber(d.batchTokens),
    seed: parseNumber(d.seed),
    log_every: parseNumber(d.logEvery),
    checkpoint_every: d.checkpointEvery.trim() === "" ? null : parseNumber(d.checkpointEvery),
    evaluate_in_model: d.evaluateInModel,
  };
}

/**
 * The form field a server error names: `details.field` of a 400 (`saes[0].k` → k), or the body field of a 422's
 * first problem (`body.saes.0.lr` → lr). A swept parameter's error goes to the sweep's values. A streamed source's
 * fields are checked by the extraction's rules, whose names differ (`batch_size`, `layers`). Null when it names none
 * the form has.
 */
const STREAM_ALIASES: Record<string, DraftField> = { batch_size: "forward_batch_size", layers: "hook_point", hook_points: "hook_point" };

export function fieldOfError(e: unknown, sweepParam: SweepParam = "none"): DraftField | null {
  const raw = fieldOfApiError(e);
  if (raw === null) return null;
  let field = raw.replace(/^body\./, "").replace(/^stream\./, "");
  field = STREAM_ALIASES[field] ?? field;
  const member = /^saes(?:\[\d+\]|\.\d+)\.(.+)$/.exec(field);
  if (member) field = member[1]!;
  if (sweepParam !== "none" && field === sweepParam) return "sweep";
  return isOneOf(FIELDS, field) ? (field as DraftField) : null;
}
