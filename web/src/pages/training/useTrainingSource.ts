/**
 * What the training form's Data section offers: the completed extractions, or (for a streamed run) the ready
 * models, the datasets with their tokenizations, and the chosen model's hook points and width.
 */
import { useEffect, useState } from "react";
import { messageOf } from "../../api/client";
import type { Extraction } from "../../api/extraction";
import { modelsApi } from "../../api/models";
import { trainingApi } from "../../api/training";
import type { Architecture, Model } from "../../api/types";
import { useConnection } from "../../stores/live";
import { useReadyDatasets } from "../extraction/SourcePicker";
import type { TrainingDraft } from "./draft";

interface Loaded<T> {
  value: T;
  loading: boolean;
  error: string | null;
}

/** `load` once `enabled`, again on every (re)connect and when `key` changes; `empty` until it answers. */
function useLoaded<T>(enabled: boolean, key: string, empty: T, load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const epoch = useConnection((s) => s.epoch);
  const [state, setState] = useState<Loaded<T> & { key: string }>({ value: empty, loading: true, error: null, key });
  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    setState((s) => (s.key === key ? s : { value: empty, loading: true, error: null, key }));
    load(ctrl.signal)
      .then((value) => !ctrl.signal.aborted && setState({ value, loading: false, error: null, key }))
      .catch((e) => !ctrl.signal.aborted && setState({ value: empty, loading: false, error: messageOf(e), key }));
    return () => ctrl.abort();
  }, [enabled, key, epoch]);
  // An answer for another key (the model changed) is not this one's.
  return state.key === key ? state : { value: empty, loading: true, error: null };
}

const NO_EXTRACTIONS: Extraction[] = [];
const NO_MODELS: Model[] = [];

/** The completed extractions a run can train on, loaded now and on every (re)connect. */
export function useCompletedExtractions(): { extractions: Extraction[]; loading: boolean; error: string | null } {
  const { value, loading, error } = useLoaded(true, "", NO_EXTRACTIONS, (signal) => trainingApi.completedExtractions(signal).then((p) => p.items));
  return { extractions: value, loading, error };
}

/** The middle layer's residual stream (where SAEs are usually trained), else the first hook point. */
export function defaultStreamHookPoint(hookPoints: readonly string[]): string {
  const residual = hookPoints.filter((p) => p.endsWith(".resid_post"));
  return residual[Math.floor(residual.length / 2)] ?? hookPoints[0] ?? "";
}

/** Everything the Data section shows for `draft`; what the streamed source needs is asked only once it is chosen. */
export function useTrainingSource(draft: TrainingDraft) {
  const streamed = draft.source === "stream";
  const extractions = useCompletedExtractions();
  const models = useLoaded(streamed, "", NO_MODELS, (signal) => modelsApi.list({ ready: true, limit: 200 }, signal).then((p) => p.items));
  const datasets = useReadyDatasets(streamed);
  const architecture = useLoaded<Architecture | null>(streamed && Boolean(draft.modelId), draft.modelId, null, (signal) =>
    modelsApi.architecture(draft.modelId, signal),
  );
  const extraction = extractions.extractions.find((e) => e.id === draft.extractionId) ?? null;
  const arch = architecture.value;
  return {
    extractions,
    extraction,
    models,
    datasets,
    architecture,
    /** The hook points the chosen source has (null while unknown). */
    hookPoints: streamed ? (arch?.hook_points ?? null) : (extraction?.hook_points ?? null),
    /** The width of its activations (null while unknown). */
    dIn: streamed ? (arch?.hidden_size ?? null) : (extraction?.d_model ?? null),
  };
}

export type TrainingSource = ReturnType<typeof useTrainingSource>;
