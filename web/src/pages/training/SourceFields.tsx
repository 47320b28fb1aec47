/**
 * The training form's Data section: where the activations come from (a stored extraction, or the model run on a
 * tokenization as training reads it), with what each costs, then the hook points the SAE reads and reconstructs.
 */
import { useEffect } from "react";
import { Database, Radio } from "lucide-react";
import { MODEL_FORMATS } from "../../api/types";
import { cn } from "../../lib/cn";
import { formatBytes, formatInteger } from "../../lib/format";
import { defaultSource, SourcePicker } from "../extraction/SourcePicker";
import type { DraftErrors, SourceKind, TrainingDraft } from "./draft";
import { Select, TextField } from "./FormControls";
import { defaultStreamHookPoint, type TrainingSource } from "./useTrainingSource";

const SOURCES: readonly { value: SourceKind; label: string; icon: typeof Database; cost: string }[] = [
  { value: "extraction", label: "Stored extraction", icon: Database, cost: "Disk space once, then fast reads; reusable across runs and sweeps." },
  { value: "stream", label: "Streamed from the model", icon: Radio, cost: "No disk: the model's forward pass on every batch, again each epoch." },
];

/** Two radio cards, each saying what its source costs. */
function SourceChoice({ value, onChange }: { value: SourceKind; onChange: (v: SourceKind) => void }) {
  return (
    <div role="radiogroup" aria-label="Train on" className="grid grid-cols-2 gap-2" data-testid="train-source">
      {SOURCES.map(({ value: v, label, icon: Icon, cost }) => (
        <button
          key={v}
          type="button"
          role="radio"
          aria-checked={value === v}
          onClick={() => onChange(v)}
          className={cn(
            "rounded border px-2 py-1.5 text-left",
            value === v ? "border-sky-600 bg-sky-950/40" : "border-zinc-800 bg-zinc-950/40 hover:border-zinc-600",
          )}
          data-testid={`train-source-${v}`}
        >
          <span className={cn("flex items-center gap-1.5 text-xs font-medium", value === v ? "text-zinc-50" : "text-zinc-300")}>
            <Icon className="size-3.5 shrink-0" aria-hidden /> {label}
          </span>
          <span className="mt-0.5 block text-[11px] leading-snug text-zinc-500" data-testid={`train-source-${v}-cost`}>
            {cost}
          </span>
        </button>
      ))}
    </div>
  );
}

function ExtractionFields({ draft, patch, errors, source }: FieldsProps) {
  const { extractions, loading, error } = source.extractions;
  const extraction = source.extraction;
  const options = [
    ...(draft.extractionId ? [] : [{ value: "", label: loading ? "Loading…" : "No completed extraction yet" }]),
    ...extractions.map((e) => ({ value: e.id, label: `${e.name} · ${e.model_name}` })),
  ];
  return (
    <Select
      label="Extraction"
      value={draft.extractionId}
      options={options}
      disabled={extractions.length === 0}
      onChange={(id) => {
        const e = extractions.find((x) => x.id === id);
        patch({ extractionId: id, hookPoint: e?.hook_points[0] ?? "", targetHookPoint: "" });
      }}
      error={error ?? errors.extraction_id}
      hint={
        extraction
          ? `${formatInteger(extraction.samples_done)} samples × ${extraction.seq_len ?? "?"} tokens · d ${extraction.d_model ?? "?"} · ${formatBytes(extraction.size_bytes)} on disk`
          : "a completed extraction of a model"
      }
      testId="train-extraction"
    />
  );
}

function StreamFields({ draft, patch, errors, source }: FieldsProps) {
  const { value: models, loading, error } = source.models;
  const datasets = source.datasets;
  const arch = source.architecture.value;
  const options = [
    ...(draft.modelId ? [] : [{ value: "", label: loading ? "Loading…" : "No ready model yet" }]),
    ...models.map((m) => ({ value: m.id, label: m.name })),
  ];
  return (
    <>
      <Select
        label="Model"
        value={draft.modelId}
        options={options}
        disabled={models.length === 0}
        onChange={(modelId) => patch({ modelId, ...defaultSource(datasets.datasets, modelId), hookPoint: "", targetHookPoint: "" })}
        error={error ?? source.architecture.error ?? errors.model_id}
        hint={arch ? `${arch.num_layers} layers · d ${arch.hidden_size ?? "?"}` : "runs on every batch of the training"}
        testId="train-model"
      />
      <SourcePicker
        modelId={draft.modelId}
        datasets={datasets.datasets}
        loading={datasets.loading}
        loadError={datasets.error}
        datasetId={draft.datasetId}
        tokenizationId={draft.tokenizationId}
        onChange={patch}
        errors={errors}
        testIdPrefix="train"
        className="space-y-3"
      />
      <div className="grid grid-cols-3 gap-2">
        <Select label="Format" value={draft.format} options={MODEL_FORMATS.map((f) => ({ value: f, label: f }))} onChange={(format) => patch({ format })} error={errors.format} testId="train-format" />
        <TextField label="Forward batch" value={draft.forwardBatchSize} onChange={(forwardBatchSize) => patch({ forwardBatchSize })} error={errors.forward_batch_size} hint="sequences, a power of 2" testId="train-forward-batch" />
        <TextField label="Max samples" value={draft.maxSamples} onChange={(maxSamples) => patch({ maxSamples })} error={errors.max_samples} hint="empty: all" testId="train-max-samples" />
      </div>
    </>
  );
}

interface FieldsProps {
  draft: TrainingDraft;
  patch: (p: Partial<TrainingDraft>) => void;
  errors: DraftErrors;
  source: TrainingSource;
}

/** Picks sensible defaults as the lists arrive: the linked (or first) extraction, the first ready model and its tokenization, a hook point the source has. */
function useDefaults({ draft, patch, source }: Omit<FieldsProps, "errors">, initialExtractionId: string | null) {
  const { extractions, loading } = source.extractions;
  useEffect(() => {
    if (loading || source.extraction) return;
    const chosen = extractions.find((e) => e.id === initialExtractionId) ?? extractions[0];
    if (chosen) patch({ extractionId: chosen.id });
  }, [loading, extractions, initialExtractionId]);

  const models = source.models;
  const datasets = source.datasets;
  useEffect(() => {
    if (draft.source !== "stream" || models.loading || draft.modelId || models.value.length === 0) return;
    // The model of the extraction shown, if it is ready: the two sources then compare like for like.
    const model = models.value.find((m) => m.id === source.extraction?.model_id) ?? models.value[0]!;
    patch({ modelId: model.id });
  }, [draft.source, models.loading, models.value, draft.modelId]);
  useEffect(() => {
    if (draft.source === "stream" && draft.modelId && !datasets.loading && !draft.datasetId) patch(defaultSource(datasets.datasets, draft.modelId));
  }, [draft.source, draft.modelId, datasets.loading, datasets.datasets, draft.datasetId]);

  // Keep the hook points within the source's: a new extraction or model may not have the ones chosen.
  const hookPoints = source.hookPoints;
  useEffect(() => {
    if (!hookPoints || hookPoints.length === 0) return;
    if (!hookPoints.includes(draft.hookPoint)) {
      patch({ hookPoint: draft.source === "stream" ? defaultStreamHookPoint(hookPoints) : hookPoints[0]!, targetHookPoint: "" });
    } else if (draft.targetHookPoint && !hookPoints.includes(draft.targetHookPoint)) {
      patch({ targetHookPoint: "" });
    }
  }, [hookPoints, draft.hookPoint, draft.targetHookPoint, draft.source]);
}

/** The Data fieldset: the source (with its cost), its own fields, the hook points, the run's name. */
export function SourceFields({ initialExtractionId = null, ...props }: FieldsProps & { initialExtractionId?: string | null }) {
  const { draft, patch, errors, source } = props;
  useDefaults(props, initialExtractionId);
  const hookPoints = source.hookPoints;
  // A hook point sweep names the hook points itself (the SAE section's Sweep), one SAE each and no transcoder.
  const swept = draft.sweepParam === "hook_point";
  return (
    <fieldset className="space-y-3">
      <legend className="mb-2 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase">Data</legend>
      <SourceChoice value={draft.source} onChange={(kind) => kind !== draft.source && patch({ source: kind, hookPoint: "", targetHookPoint: "" })} />
      {draft.source === "stream" ? <StreamFields {...props} /> : <ExtractionFields {...props} />}
      <Select
        label="Hook point"
        value={draft.hookPoint}
        options={(hookPoints ?? []).map((p) => ({ value: p, label: p }))}
        disabled={!hookPoints || swept}
        onChange={(hookPoint) => patch({ hookPoint, targetHookPoint: draft.targetHookPoint === hookPoint ? "" : draft.targetHookPoint })}
        error={errors.hook_point}
        hint={swept ? "swept: one SAE per hook point of the Sweep" : "the activations the SAE reads"}
        testId="train-hook-point"
      />
      <Select
        label="Target hook point"
        value={draft.targetHookPoint}
        options={[{ value: "", label: "— none: an SAE (reconstructs its input)" }, ...(hookPoints ?? []).filter((p) => p !== draft.hookPoint).map((p) => ({ value: p, label: `${p} (transcoder)` }))]}
        disabled={!hookPoints || swept}
        onChange={(targetHookPoint) => patch({ targetHookPoint })}
        error={errors.target_hook_point}
        hint="optional: a transcoder predicts this hook point from the one above"
        testId="train-target-hook-point"
      />
      <TextField label="Name" value={draft.name} onChange={(name) => patch({ name })} error={errors.name} hint="optional: made from the settings when empty" testId="train-name" placeholder="topk_4608_blocks.6.resid_post_…" />
    </fieldset>
  );
}
