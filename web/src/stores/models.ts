/**
 * The Models store: the list page, every model this tab has fetched, and live download progress.
 *
 * REST is the truth: every `job.updated` of a `models.*` job triggers a refetch of its model, and a
 * (re)connect refetches the list. Progress events only make the bar move between refetches. No token
 * ever enters this store: actions take it as an argument and hand it straight to the API.
 */
import { create } from "zustand";
import { modelsApi, type ListModelsQuery } from "../api/models";
import type {
  DeleteResult,
  DownloadRequest,
  ImportRequest,
  Model,
  ModelAccepted,
  ModelFormat,
  ModelPatch,
  VariantAccepted,
  WsMessage,
} from "../api/types";
import { eventOn } from "../api/events";
import { initialListState, reportFreed, reporting, resourceActions, startLiveResource, whileMarked, type ListState, type LiveSocketLike } from "./liveResource";
import {
  applyList,
  applyModel,
  applyProgress,
  emptyModelsData,
  modelIdOfJob,
  progressChannel,
  removeModel,
  type ModelsData,
} from "./modelsReducer";

export { REFETCH_MS } from "./liveResource";

export const MODELS_PAGE_SIZE = 24;

export type ModelAction = "cancel" | "retry" | "delete" | "save" | "quantize" | "delete-variant";

interface ModelsState extends ModelsData, ListState<ListModelsQuery> {
  /** Actions in flight from this tab, by model id. */
  pending: Record<string, ModelAction>;

  setQuery: (q: Partial<ListModelsQuery>) => void;
  fetchList: (signal?: AbortSignal) => Promise<void>;
  /** Refetch one model (404 → it was deleted elsewhere: drop it). */
  fetchModel: (id: string, signal?: AbortSignal) => Promise<Model | null>;
  upsert: (model: Model, opts?: { prepend?: boolean }) => void;
  onMessage: (msg: WsMessage) => void;
  /** Start a download; throws the API error (the form shows it inline). */
  download: (request: DownloadRequest) => Promise<ModelAccepted>;
  /** Start an import; throws the API error (the dialog shows it inline). */
  importModel: (request: ImportRequest) => Promise<ModelAccepted>;
  cancelDownload: (id: string) => Promise<Model | null>;
  retry: (id: string, token?: string) => Promise<ModelAccepted | null>;
  update: (id: string, patch: ModelPatch) => Promise<Model | null>;
  remove: (id: string) => Promise<DeleteResult | null>;
  quantize: (id: string, format: ModelFormat, device?: string) => Promise<VariantAccepted | null>;
  deleteVariant: (id: string, variantId: string) => Promise<DeleteResult | null>;
  reset: () => void;
}

const initial = {
  ...emptyModelsData,
  ...initialListState<ListModelsQuery>({ page: 1, limit: MODELS_PAGE_SIZE }),
  pending: {} as Record<string, ModelAction>,
};

export const useModels = create<ModelsState>()((set, get) => {
  const data = (): ModelsData => {
    const s = get();
    return { models: s.models, listIds: s.listIds, pagination: s.pagination, progress: s.progress };
  };

  const { setQuery, fetchList, fetchItem, upsert, keep, reset } = resourceActions(set, get, {
    list: (query, signal) => modelsApi.list(query, signal),
    get: (id, signal) => modelsApi.get(id, signal),
    applyList: (items, pagination) => applyList(data(), items, pagination),
    applyItem: (model, opts) => applyModel(data(), model, opts),
    removeItem: (id) => removeModel(data(), id),
    listErrorTitle: "Could not load models",
    initial,
  });

  /** Run `fn` with `action` marked pending for `id`; errors become a toast with the server's text. */
  const withPending = <T>(id: string, action: ModelAction, title: string, fn: () => Promise<T>): Promise<T | null> =>
    whileMarked(set, "pending", id, action, () => reporting(title, fn));

  return {
    ...initial,

    setQuery,
    fetchList,
    fetchModel: fetchItem,

    upsert,

    onMessage: (msg) => {
      const event = eventOn("models/{model_id}/progress", ["progress"], msg);
      if (event && event.data.model_id === event.ids.model_id) set(applyProgress(data(), event.data));
    },

    download: async (request) => keep(await modelsApi.download(request), { prepend: true }),
    importModel: async (request) => keep(await modelsApi.importModel(request), { prepend: true }),

    cancelDownload: (id) => withPending(id, "cancel", "Could not cancel the download", async () => keep(await modelsApi.cancelDownload(id))),
    retry: (id, token) => withPending(id, "retry", "Could not retry", async () => keep(await modelsApi.retry(id, token || undefined))),
    update: (id, patch) => withPending(id, "save", "Could not save the model", async () => keep(await modelsApi.update(id, patch))),

    remove: (id) =>
      withPending(id, "delete", "Could not delete the model", async () => {
        const name = get().models[id]?.name ?? id;
        const result = await modelsApi.remove(id);
        set(removeModel(data(), id));
        reportFreed(`Deleted ${name}`, result.bytes_freed, result.variants_removed ? `, ${result.variants_removed} variant(s) removed` : "");
        return result;
      }),

    quantize: (id, format, device) =>
      withPending(id, "quantize", `Could not start ${format.toUpperCase()}`, async () => {
        const variant = await modelsApi.quantize(id, device ? { format, device } : { format });
        await get().fetchModel(id);
        return variant;
      }),

    deleteVariant: (id, variantId) =>
      withPending(id, "delete-variant", "Could not delete the variant", async () => {
        const result = await modelsApi.deleteVariant(id, variantId);
        await get().fetchModel(id);
        reportFreed("Variant deleted", result.bytes_freed);
        return result;
      }),

    reset,
  };
});

// --- live wiring ---------------------------------------------------------------------------------------

/** Wire `job.updated` (refetch) and `models/{id}/progress` (live bytes) to the store; returns a stop function. */
export function startModelsLive(socket: LiveSocketLike): () => void {
  return startLiveResource(socket, {
    store: useModels,
    items: (s) => s.models,
    idOfJob: modelIdOfJob,
    isActive: (m) => m.active, // still being produced
    progressChannel,
    fetchItem: (id) => useModels.getState().fetchModel(id),
    fetchList: () => useModels.getState().fetchList(),
    refreshErrorTitle: "Could not refresh the model",
    onMessage: (msg) => useModels.getState().onMessage(msg),
  });
}
