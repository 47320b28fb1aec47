/** "Analyse this SAE": over its training's hold-out or a tokenization, how many sequences, and what to keep per latent. */
import { useEffect, useState, type FormEvent } from "react";
import { Loader2, Play } from "lucide-react";
import { messageOf } from "../../api/client";
import type { AnalysisAccepted, AnalyzeRequest } from "../../api/features";
import type { SAE } from "../../api/training";
import { Button } from "../../components/Button";
import { FormError } from "../../components/FormError";
import { defaultSource, SourcePicker, useReadyDatasets } from "../extraction/SourcePicker";
import { Segmented, Select, TextField } from "../training/FormControls";
import { analyzeRequest, draftErrors, fieldOfServerError, FORMATS, initialDraft, NUMBER_FIELDS, type AnalyzeDraft, type DraftField, type NumberField } from "./analyzeDraft";

const HINTS: Partial<Record<NumberField, string>> = {
  maxSequences: "empty: all of them",
  context: "either side of the peak",
  perInterval: "examples sampled per equal-width interval",
  ablationTop: "Δ loss when zeroed (2 passes each; 0: skip)",
};
const LAYOUT: NumberField[][] = [
  ["maxSequences", "batchSize", "topK", "context"],
  ["intervals", "perInterval", "histogramBins", "ablationTop"],
  ["neighbours", "correlations", "logitLens"],
];

export function AnalyzeForm({ sae, onStart }: { sae: SAE; onStart: (body: AnalyzeRequest) => Promise<AnalysisAccepted> }) {
  const hasHoldout = Boolean(sae.training_id);
  const [draft, setDraft] = useState<AnalyzeDraft>(() => initialDraft(hasHoldout));
  const [serverError, setServerError] = useState<{ field: DraftField | null; message: string } | null>(null);
  const [starting, setStarting] = useState(false);
  const datasets = useReadyDatasets(draft.source === "tokenization");
  const modelId = sae.model_id ?? "";
  // Choose a tokenization of the SAE's model once the datasets arrive (the user can change it).
  useEffect(() => {
    if (draft.source !== "tokenization" || draft.datasetId || datasets.datasets.length === 0) return;
    setDraft((d) => ({ ...d, ...defaultSource(datasets.datasets, modelId) }));
  }, [draft.source, draft.datasetId, datasets.datasets, modelId]);

  const errors = draftErrors(draft);
  const valid = Object.keys(errors).length === 0;
  const change = (patch: Partial<AnalyzeDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setServerError(null);
  };
  const errorOf = (field: DraftField) => errors[field] ?? (serverError?.field === field ? serverError.message : undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return;
    setStarting(true);
    setServerError(null);
    try {
      await onStart(analyzeRequest(draft));
    } catch (err) {
      setServerError({ field: fieldOfServerError(err), message: messageOf(err) });
    } finally {
      setStarting(false);
    }
  };

  return (
    <form className="space-y-3" onSubmit={(e) => void submit(e)} data-testid="analyze-form" noValidate>
      <div className="flex flex-wrap items-center gap-2 text-xs text-zinc-400">
        Sequences from
        <Segmented
          label="Sequences from"
          value={draft.source}
          onChange={(source) => change({ source })}
          options={[
            ...(hasHoldout ? [{ value: "holdout" as const, label: "the training's hold-out" }] : []),
            { value: "tokenization" as const, label: "a tokenization" },
          ]}
          testId="analyze-source"
        />
        {draft.source === "holdout" && <span className="text-zinc-500">text the SAE was not trained on</span>}
      </div>
      {draft.source === "tokenization" && (
        <SourcePicker
          modelId={modelId}
          datasets={datasets.datasets}
          loading={datasets.loading}
          loadError={datasets.error}
          datasetId={draft.datasetId}
          tokenizationId={draft.tokenizationId}
          onChange={(source) => change(source)}
          errors={{ dataset_id: errorOf("datasetId"), tokenization_id: errorOf("tokenizationId") }}
          testIdPrefix="analyze"
        />
      )}
      {LAYOUT.map((row, i) => (
        <div key={i} className="grid gap-2 sm:grid-cols-4">
          {i === LAYOUT.length - 1 && (
            <Select
              label="Model format"
              value={draft.format}
              options={FORMATS.map((f) => ({ value: f, label: f }))}
              onChange={(format) => change({ format })}
              error={errorOf("format")}
              testId="analyze-format"
            />
          )}
          {row.map((field) => (
            <TextField
              key={field}
              label={NUMBER_FIELDS[field].label}
              value={draft[field]}
              onChange={(v) => change({ [field]: v })}
              error={errorOf(field)}
              hint={HINTS[field]}
              testId={`analyze-${field}`}
            />
          ))}
        </div>
      ))}
      {serverError && serverError.field === null && <FormError testId="analyze-error">{serverError.message}</FormError>}
      <Button type="submit" variant="primary" disabled={!valid || starting} data-testid="analyze-start">
        {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Play className="size-3.5" aria-hidden />} Start the analysis
      </Button>
    </form>
  );
}
