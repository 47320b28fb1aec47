/** The extraction form's state, its checks, and how a request, a template and a server error map onto it. */
import { isApiError } from "../../api/client";
import type { ExtractRequest, HookType, StorageDtype } from "../../api/extraction";
import type { ExtractionTemplate, TemplateCreate } from "../../api/templates";
import type { ModelFormat } from "../../api/types";
import { HOOK_TYPES } from "../../api/extraction";
import { isOneOf } from "../../lib/oneOf";

/** Batch sizes the slider offers: powers of 2 from 1 to 512. */
export const BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] as const;
export const DEFAULT_MAX_SAMPLES = 1000;

export interface ExtractionDraft {
  datasetId: string;
  tokenizationId: string;
  layers: number[];
  hookTypes: HookType[];
  /** null: every sequence of the tokenization. */
  maxSamples: number | null;
  batchSize: number;
  dtype: StorageDtype;
  format: ModelFormat;
  name: string;
}

/** The request fields a message can be shown next to. */
export type DraftField = "dataset_id" | "tokenization_id" | "layers" | "hook_points" | "max_samples" | "batch_size" | "dtype" | "format" | "name";
export type DraftErrors = Partial<Record<DraftField, string>>;
const FIELDS: readonly DraftField[] = ["dataset_id", "tokenization_id", "layers", "hook_points", "max_samples", "batch_size", "dtype", "format", "name"];

/** A first draft: the middle layer's residual stream, a thousand samples, batches of 32, stored as fp32. */
export function initialDraft(numLayers: number): ExtractionDraft {
  return {
    datasetId: "",
    tokenizationId: "",
    layers: numLayers > 0 ? [Math.floor(numLayers / 2)] : [],
    hookTypes: ["resid_post"],
    maxSamples: DEFAULT_MAX_SAMPLES,
    batchSize: 32,
    dtype: "fp32",
    format: "fp32",
    name: "",
  };
}

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;

/** What is wrong before asking the server (`available`: sequences of the chosen tokenization, when known). */
export function validateDraft(d: ExtractionDraft, numLayers: number, available: number | null): DraftErrors {
  const errors: DraftErrors = {};
  if (!d.datasetId) errors.dataset_id = "Choose a dataset.";
  else if (!d.tokenizationId) errors.tokenization_id = "Choose a ready tokenization of this dataset.";
  if (d.layers.length === 0) errors.layers = "Choose at least one layer.";
  else if (d.layers.some((l) => l < 0 || l >= numLayers)) errors.layers = `Layers go from 0 to ${numLayers - 1}.`;
  if (d.hookTypes.length === 0) errors.hook_points = "Choose at least one hook point.";
  if (d.maxSamples !== null && (!Number.isInteger(d.maxSamples) || d.maxSamples < 1 || (available !== null && d.maxSamples > available))) {
    errors.max_samples = available !== null ? `Between 1 and ${available}, or all.` : "At least 1, or all.";
  }
  if (!isPowerOfTwo(d.batchSize)) errors.batch_size = "A power of 2.";
  if (d.name.length > 255) errors.name = "At most 255 characters.";
  return errors;
}

export function toRequest(d: ExtractionDraft): ExtractRequest {
  return {
    dataset_id: d.datasetId,
    tokenization_id: d.tokenizationId,
    layers: [...d.layers].sort((a, b) => a - b),
    hook_points: HOOK_TYPES.filter((h) => d.hookTypes.includes(h)),
    max_samples: d.maxSamples,
    batch_size: d.batchSize,
    dtype: d.dtype,
    format: d.format,
    name: d.name.trim() || null,
  };
}

/** The template of the form's settings; no name: the server makes one from the settings. */
export function toTemplate(d: ExtractionDraft, name: string): TemplateCreate {
  const r = toRequest(d);
  return { name: name.trim() || null, layers: r.layers, hook_points: r.hook_points, max_samples: r.max_samples, batch_size: r.batch_size, dtype: r.dtype, is_favorite: false };
}

/**
 * The form with a template's settings. Layers this model does not have are left out (`dropped` says which);
 * the max samples is kept to what the chosen tokenization has.
 */
export function applyTemplate(
  d: ExtractionDraft,
  t: ExtractionTemplate,
  numLayers: number,
  available: number | null,
): { draft: ExtractionDraft; dropped: number[] } {
  const layers = t.layers.filter((l) => l >= 0 && l < numLayers);
  const dropped = t.layers.filter((l) => l < 0 || l >= numLayers);
  const hookTypes = t.hook_points.filter((h): h is HookType => isOneOf(HOOK_TYPES, h));
  const maxSamples = t.max_samples === null ? null : available !== null ? Math.min(t.max_samples, available) : t.max_samples;
  const largest = BATCH_SIZES[BATCH_SIZES.length - 1]!;
  const batchSize = isPowerOfTwo(t.batch_size) ? Math.min(t.batch_size, largest) : d.batchSize;
  const dtype = isOneOf(["fp32", "fp16", "bf16"], t.dtype) ? (t.dtype as StorageDtype) : d.dtype;
  return { draft: { ...d, layers, hookTypes, maxSamples, batchSize, dtype }, dropped };
}

/**
 * The form field a server error names: `details.field` of a 400/409, or the body field of a 422's first
 * problem (`body.layers.0` → layers). Null when it names none the form has.
 */
export function fieldOfError(e: unknown): DraftField | null {
  if (!isApiError(e)) return null;
  const details = e.details;
  let field: unknown = null;
  if (details && typeof details === "object" && !Array.isArray(details)) field = (details as Record<string, unknown>).field;
  else if (Array.isArray(details) && details[0] && typeof details[0] === "object") {
    const loc = String((details[0] as Record<string, unknown>).field ?? "").split(".");
    field = loc[0] === "body" ? loc[1] : loc[0];
  }
  return typeof field === "string" && isOneOf(FIELDS, field) ? (field as DraftField) : null;
}
