import { useEffect, useMemo, useState } from "react";
import { Loader2, Play } from "lucide-react";
import { messageOf } from "../../api/client";
import type { ExtractionTemplate } from "../../api/templates";
import type { FormatsInfo } from "../../api/types";
import { Button } from "../../components/Button";
import { Card } from "../../components/Card";
import { FormError } from "../../components/FormError";
import { useExtractions } from "../../stores/extraction";
import { useToasts } from "../../stores/toasts";
import { applyTemplate, fieldOfError, initialDraft, toRequest, validateDraft, type DraftErrors, type ExtractionDraft } from "./draft";
import { EstimateView, useEstimate } from "./EstimateView";
import { HookPointPicker, LayerSelector } from "./LayerSelector";
import { RunSettings } from "./RunSettings";
import { defaultSource, SourcePicker, useReadyDatasets } from "./SourcePicker";
import { TemplatesCard } from "./TemplatesCard";

/** An error as the form shows it: next to the field it names, else under the Start button. */
function placed(e: unknown): { field: DraftErrors; general: string | null } {
  if (!e) return { field: {}, general: null };
  const f = fieldOfError(e);
  return f ? { field: { [f]: messageOf(e) }, general: null } : { field: {}, general: messageOf(e) };
}

/** The extraction settings with live estimates, templates, and the Start button. */
export function ExtractionForm({
  modelId,
  numLayers,
  hookTypes,
  formats,
  busyWith,
}: {
  modelId: string;
  numLayers: number;
  /** Hook types the model has (from its architecture); null while unknown. */
  hookTypes: ReadonlySet<string> | null;
  formats: FormatsInfo | null;
  /** The extraction already queued or running on this model (one at a time), if any. */
  busyWith: string | null;
}) {
  const { datasets, loading, error: datasetsError } = useReadyDatasets();
  const [draft, setDraft] = useState<ExtractionDraft>(() => initialDraft(numLayers));
  const [startError, setStartError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const start = useExtractions((s) => s.start);
  const patch = (p: Partial<ExtractionDraft>) => {
    setDraft((d) => ({ ...d, ...p }));
    setStartError(null);
  };

  // Pick this model's tokenization once the datasets are known.
  useEffect(() => {
    if (!loading && !draft.datasetId) patch(defaultSource(datasets, modelId));
  }, [loading, datasets, modelId]);

  const tokenization = datasets.find((d) => d.id === draft.datasetId)?.tokenizations.find((t) => t.id === draft.tokenizationId);
  const available = tokenization?.num_sequences ?? null;
  // Keep max samples within the chosen tokenization.
  useEffect(() => {
    if (available !== null && draft.maxSamples !== null && draft.maxSamples > available) patch({ maxSamples: available });
  }, [available]);

  const clientErrors = validateDraft(draft, numLayers, available);
  const valid = Object.keys(clientErrors).length === 0;
  const request = useMemo(() => (valid ? toRequest(draft) : null), [valid, draft]);
  const { estimate, loading: estimating, error: estimateError } = useEstimate(modelId, request);
  const fromEstimate = placed(estimateError);
  const fromStart = placed(startError);
  const errors: DraftErrors = { ...clientErrors, ...fromEstimate.field, ...fromStart.field };
  const canStart = valid && !starting && !busyWith && estimate?.can_start !== false && Object.keys(fromEstimate.field).length === 0;

  const onStart = async () => {
    if (!request) return;
    setStarting(true);
    setStartError(null);
    try {
      const e = await start(modelId, request);
      useToasts.getState().push({ kind: "info", title: `Extracting ${e.name}`, message: `${e.num_samples} samples × ${e.hook_points.length} hook points` });
    } catch (e) {
      setStartError(e);
    } finally {
      setStarting(false);
    }
  };

  const onApply = (t: ExtractionTemplate) => {
    const { draft: next, dropped } = applyTemplate(draft, t, numLayers, available);
    patch(next);
    const note = dropped.length ? `; layer${dropped.length === 1 ? "" : "s"} ${dropped.join(", ")} left out: this model has ${numLayers}` : "";
    useToasts.getState().push({ kind: dropped.length ? "warning" : "success", title: `Template '${t.name}' loaded`, message: note ? note.slice(2) : undefined });
  };

  return (
    <div className="grid items-start gap-4 xl:grid-cols-[1fr_360px]">
      <Card title="New extraction" data-testid="extract-form">
        <div className="grid gap-4 lg:grid-cols-2">
          <div className="space-y-3">
            <SourcePicker
              modelId={modelId}
              datasets={datasets}
              loading={loading}
              loadError={datasetsError}
              datasetId={draft.datasetId}
              tokenizationId={draft.tokenizationId}
              onChange={patch}
              errors={loading ? {} : errors}
            />
            <LayerSelector numLayers={numLayers} layers={draft.layers} onChange={(layers) => patch({ layers })} error={errors.layers} />
            <HookPointPicker available={hookTypes} value={draft.hookTypes} onChange={(hookTypes) => patch({ hookTypes })} error={errors.hook_points} />
          </div>
          <div className="space-y-3">
            <RunSettings draft={draft} available={available} formats={formats} errors={errors} onChange={patch} />
          </div>
        </div>
        <div className="mt-4 space-y-2 border-t border-zinc-800 pt-3">
          <EstimateView
            estimate={estimate}
            loading={estimating}
            error={fromEstimate.general ?? (Object.keys(fromEstimate.field).length ? "Fix the setting marked above to see the estimate." : null)}
          />
          <div className="flex flex-wrap items-center gap-2">
            <Button variant="primary" disabled={!canStart} onClick={() => void onStart()} data-testid="extract-start">
              {starting ? <Loader2 className="size-3.5 animate-spin" aria-hidden /> : <Play className="size-3.5" aria-hidden />} Start extraction
            </Button>
            {busyWith && (
              <span className="text-xs text-amber-300" data-testid="extract-busy">
                One extraction at a time per model: wait for {busyWith} or cancel it.
              </span>
            )}
            {estimate && !estimate.can_start && (
              <span className="text-xs text-red-300" data-testid="extract-cannot-start">
                The activations would not fit on the free disk.
              </span>
            )}
          </div>
          {fromStart.general && <FormError testId="extract-start-error">{fromStart.general}</FormError>}
        </div>
      </Card>
      <TemplatesCard draft={draft} canSave={draft.layers.length > 0 && draft.hookTypes.length > 0} onApply={onApply} />
    </div>
  );
}
