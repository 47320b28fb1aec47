/**
 * The "Analyse this SAE" form as text the user types, the checks the client can make (each message names the
 * field and the fix), and the request a valid draft makes. The server checks the rest (sequences beyond the
 * tokenization, an SAE whose width differs from the model's) and its message goes next to the field it names.
 */
import { fieldOfApiError } from "../../api/client";
import type { AnalyzeRequest } from "../../api/features";

export type SequenceSource = "holdout" | "tokenization";
export type AnalysisFormat = AnalyzeRequest["format"];
/** The formats offered: those a model runs as is; a quantized one needs its variant made first (Models). */
export const FORMATS = ["fp32", "fp16", "bf16"] as const satisfies readonly AnalysisFormat[];

export interface AnalyzeDraft {
  source: SequenceSource;
  format: AnalysisFormat;
  datasetId: string;
  tokenizationId: string;
  maxSequences: string;
  topK: string;
  context: string;
  intervals: string;
  perInterval: string;
  histogramBins: string;
  neighbours: string;
  correlations: string;
  logitLens: string;
  ablationTop: string;
  batchSize: string;
}

/** Each numeric field: the request key, its label, and the range the server accepts (schemas.AnalyzeIn). */
export const NUMBER_FIELDS = {
  maxSequences: { key: "max_sequences", label: "Sequences", min: 1, max: Number.MAX_SAFE_INTEGER, optional: true },
  topK: { key: "top_k", label: "Top examples", min: 1, max: 10_000, optional: false },
  context: { key: "context", label: "Context tokens", min: 0, max: 4096, optional: false },
  intervals: { key: "intervals", label: "Intervals", min: 1, max: 1000, optional: false },
  perInterval: { key: "per_interval", label: "Per interval", min: 0, max: 1000, optional: false },
  histogramBins: { key: "histogram_bins", label: "Histogram bins", min: 1, max: 10_000, optional: false },
  neighbours: { key: "neighbours", label: "Neighbours", min: 0, max: 1000, optional: false },
  correlations: { key: "correlations", label: "Correlations", min: 0, max: 10_000, optional: false },
  logitLens: { key: "logit_lens", label: "Logit-lens tokens", min: 0, max: 1000, optional: false },
  ablationTop: { key: "ablation_top", label: "Ablate top examples", min: 0, max: 100, optional: false },
  batchSize: { key: "batch_size", label: "Batch size", min: 1, max: 4096, optional: false },
} as const satisfies Record<string, { key: keyof AnalyzeRequest; label: string; min: number; max: number; optional: boolean }>;

export type NumberField = keyof typeof NUMBER_FIELDS;
export type DraftField = NumberField | "source" | "format" | "datasetId" | "tokenizationId";

/** The server's defaults (a couple of ablated examples, since the detail page shows the effect). */
export function initialDraft(hasHoldout: boolean): AnalyzeDraft {
  return {
    source: hasHoldout ? "holdout" : "tokenization",
    format: "fp32",
    datasetId: "",
    tokenizationId: "",
    maxSequences: "",
    topK: "20",
    context: "16",
    intervals: "10",
    perInterval: "2",
    histogramBins: "60",
    neighbours: "10",
    correlations: "10",
    logitLens: "10",
    ablationTop: "2",
    batchSize: "8",
  };
}

/** What is wrong with the draft, by field, in words that say the fix; empty when it can be sent. */
export function draftErrors(d: AnalyzeDraft): Partial<Record<DraftField, string>> {
  const errors: Partial<Record<DraftField, string>> = {};
  for (const [field, spec] of Object.entries(NUMBER_FIELDS) as [NumberField, (typeof NUMBER_FIELDS)[NumberField]][]) {
    const text = d[field].trim();
    if (text === "") {
      if (!spec.optional) errors[field] = `${spec.label}: a whole number is needed`;
      continue;
    }
    const n = Number(text);
    if (!Number.isInteger(n)) errors[field] = `${spec.label}: a whole number, not ${JSON.stringify(text)}`;
    else if (n < spec.min || n > spec.max) {
      errors[field] = spec.max === Number.MAX_SAFE_INTEGER ? `${spec.label}: at least ${spec.min}` : `${spec.label}: between ${spec.min} and ${spec.max.toLocaleString("en-US")}`;
    }
  }
  if (d.source === "tokenization") {
    if (!d.datasetId) errors.datasetId = "Dataset: choose the dataset whose tokenization to analyse over";
    else if (!d.tokenizationId) errors.tokenizationId = "Tokenization: choose one made with the SAE's model's tokenizer";
  }
  return errors;
}

/** The request of a valid draft (check `draftErrors` first). */
export function analyzeRequest(d: AnalyzeDraft): AnalyzeRequest {
  const n = (field: NumberField) => Number(d[field].trim());
  const body: AnalyzeRequest = {
    format: d.format,
    top_k: n("topK"),
    context: n("context"),
    histogram_bins: n("histogramBins"),
    intervals: n("intervals"),
    per_interval: n("perInterval"),
    correlations: n("correlations"),
    neighbours: n("neighbours"),
    logit_lens: n("logitLens"),
    ablation_top: n("ablationTop"),
    batch_size: n("batchSize"),
    // The server's defaults: not worth a field on this form.
    checkpoint_every: 64,
    seed: 0,
  };
  if (d.maxSequences.trim() !== "") body.max_sequences = n("maxSequences");
  if (d.source === "tokenization") {
    body.dataset_id = d.datasetId;
    body.tokenization_id = d.tokenizationId;
  }
  return body;
}

/** The form field a server error names (`body.top_k` → topK, `tokenization_id` → tokenizationId), else null. */
export function fieldOfServerError(e: unknown): DraftField | null {
  const raw = fieldOfApiError(e)?.replace(/^body\./, "");
  if (!raw) return null;
  if (raw === "dataset_id") return "datasetId";
  if (raw === "tokenization_id") return "tokenizationId";
  if (raw === "format") return "format";
  const found = (Object.entries(NUMBER_FIELDS) as [NumberField, { key: string }][]).find(([, spec]) => spec.key === raw);
  return found ? found[0] : null;
}
