/**
 * The "Label with an LLM" form as typed text: who writes the labels (a ready studio model, or an OpenAI-compatible
 * endpoint), which latents, how many examples; the client's checks (each names the field and the fix) and the request.
 */
import type { LabelRequest } from "../../api/features";

export type LabelWriter = "local" | "endpoint";
export type LabelSort = NonNullable<LabelRequest["sort"]>;
export const LABEL_SORTS = ["frequency", "max_activation", "mean_activation", "index"] as const satisfies readonly LabelSort[];
/** The server's limits (labels_schemas.LabelIn). */
const LIMITS = { top: [1, 10_000], explainExamples: [1, 100], scoreExamples: [1, 100] } as const;
const LABELS = { top: "Latents", explainExamples: "Examples shown", scoreExamples: "Contexts scored" } as const;

export interface LabelDraft {
  writer: LabelWriter;
  localModelId: string;
  format: LabelRequest["format"];
  endpoint: string;
  model: string;
  apiKey: string;
  top: string;
  sort: LabelSort;
  explainExamples: string;
  scoreExamples: string;
}

export const initialLabelDraft: LabelDraft = {
  writer: "local", localModelId: "", format: "fp32", endpoint: "", model: "", apiKey: "", top: "20", sort: "frequency",
  explainExamples: "10", scoreExamples: "10",
};

export function labelDraftErrors(d: LabelDraft): Partial<Record<keyof LabelDraft, string>> {
  const errors: Partial<Record<keyof LabelDraft, string>> = {};
  for (const field of ["top", "explainExamples", "scoreExamples"] as const) {
    const n = Number(d[field].trim());
    const [min, max] = LIMITS[field];
    if (d[field].trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      errors[field] = `${LABELS[field]}: a whole number from ${min} to ${max.toLocaleString("en-US")}`;
    }
  }
  if (d.writer === "local" && !d.localModelId) errors.localModelId = "Model: choose a ready studio model to write the labels";
  if (d.writer === "endpoint") {
    if (!/^https?:\/\/\S+$/.test(d.endpoint.trim())) errors.endpoint = "Endpoint: the base URL of an OpenAI-compatible API, e.g. http://localhost:8000/v1";
    if (!d.model.trim()) errors.model = "Model name: the model the endpoint serves";
  }
  return errors;
}

/** The request of a valid draft; the key is sent only when typed (else the server's environment has it). */
export function labelRequest(d: LabelDraft): LabelRequest {
  const body: LabelRequest = {
    top: Number(d.top), sort: d.sort, explain_examples: Number(d.explainExamples), score_examples: Number(d.scoreExamples),
    format: d.format, batch_size: 5, seed: 0,
  };
  if (d.writer === "local") body.local_model_id = d.localModelId;
  else {
    body.endpoint = d.endpoint.trim();
    body.model = d.model.trim();
    if (d.apiKey) body.api_key = d.apiKey;
  }
  return body;
}
