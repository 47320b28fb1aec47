/**
 * What the Steering form picks from, loaded from REST: ready models, the model's SAEs, the SAE's completed
 * analyses, the model's saved directions, and the presets. Reloaded when the model or SAE changes (and on demand).
 */
import { useCallback, useEffect, useState } from "react";
import { modelsApi } from "../../api/models";
import { featuresApi, type Analysis } from "../../api/features";
import { steeringApi, type Direction, type Preset } from "../../api/steering";
import { trainingApi, type SAE } from "../../api/training";
import type { Model } from "../../api/types";
import { reportError } from "../../stores/toasts";

export interface Catalog {
  models: Model[];
  saes: SAE[];
  analyses: Analysis[];
  directions: Direction[];
  presets: Preset[];
  loading: boolean;
  reloadDirections: () => void;
  reloadPresets: () => void;
}

function useList<T>(load: ((signal: AbortSignal) => Promise<{ items: T[] }>) | null, deps: unknown[], what: string): [T[], () => void, boolean] {
  const [items, setItems] = useState<T[]>([]);
  const [loading, setLoading] = useState(false);
  const [epoch, setEpoch] = useState(0);
  useEffect(() => {
    if (!load) {
      setItems([]);
      return;
    }
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal)
      .then((page) => setItems(page.items))
      .catch((e) => {
        if (!controller.signal.aborted) reportError(e, `Could not load ${what}`);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [...deps, epoch]);
  return [items, useCallback(() => setEpoch((n) => n + 1), []), loading];
}

export function useCatalog(modelId: string, saeId: string): Catalog {
  const [models, , loadingModels] = useList((signal) => modelsApi.list({ ready: true, limit: 200 }, signal), [], "the models");
  const [saes, , loadingSaes] = useList(modelId ? (signal) => trainingApi.listSaes({ model_id: modelId, limit: 200 }, signal) : null,
    [modelId], "the model's SAEs");
  const [allAnalyses] = useList(saeId ? (signal) => featuresApi.list(saeId, signal) : null, [saeId], "the SAE's analyses");
  const [directions, reloadDirections] = useList(modelId ? (signal) => steeringApi.directions({ model_id: modelId, limit: 200 }, signal) : null,
    [modelId], "the saved directions");
  const [presets, reloadPresets] = useList((signal) => steeringApi.presets(signal), [], "the presets");
  return {
    models, saes, directions, presets, reloadDirections, reloadPresets,
    analyses: allAnalyses.filter((analysis) => analysis.ready),
    loading: loadingModels || loadingSaes,
  };
}
