/**
 * The Models store: the list page, every model this tab has fetched, and live download progress.
 *
 * REST is the truth: every `job.updated` of a `models.*` job triggers a refetch of its model, and a
 * (re)connect refetches the list. Progress events only make the bar move between refetches. No token
 * ever enters this store: actions take it as an argument and hand it straight to the API.
 */
import { create } from "zustand";
import { isApiError } from "../api/client";
import { modelsApi, type ListModelsQuery } from "../api/models";
import type {
  DeleteResult,
  DownloadRequest,
  ImportRequest,
  Job,
  Model,
  ModelAccepted,
  ModelFormat,
  ModelPatch,
  VariantAccepted,
  WsMessage,
} from "../api/types";
import { isActiveModelStatus, parseDownloadProgress } from "../api/types";
import { formatBytes } from "../lib/format";
import {
  applyList,
  applyModel,
  applyProgress,
  emptyModelsData,
  modelIdOfJob,
  modelIdOfProgressChannel,
  progressChannel,
  removeModel,
  type ModelsData,
} from "./modelsReducer";
import { reportError, useToasts } from "./toasts";

export const MODELS_PAGE_SIZE = 24;

export type ModelAction = "cancel" | "retry" | "delete" | "save" | "quantize" | "delete-variant";

interface ModelsState extends ModelsData {
  query: ListModelsQuery;
  listLoading: boolean;
  /** The list has been loaded at least once. */
  listLoaded: boolean;
  listError: string | null;
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
  query: { page: 1, limit: MODELS_PAGE_SIZE } as ListModelsQuery,
  listLoading: false,
  listLoaded: false,
  listError: null as string | null,
  pending: {} as Record<string, ModelAction>,
};

let listGeneration = 0;

export const useModels = create<ModelsState>()((set, get) => {
  const data = (): ModelsData => {
    const s = get();
    return { models: s.models, listIds: s.listIds, pagination: s.pagination, progress: s.progress };
  };

  /** Run `fn` with `action` marked pending for `id`; errors become a toast with the server's text. */
  async function withPending<T>(id: string, action: ModelAction, title: string, fn: () => Promise<T>): Promise<T | null> {
    set((s) => ({ pending: { ...s.pending, [id]: action } }));
    try {
      return await fn();
    } catch (e) {
      reportError(e, title);
      return null;
    } finally {
      set((s) => {
        const pending = { ...s.pending };
        delete pending[id];
        return { pending };
      });
    }
  }

  return {
    ...initial,

    setQuery: (q) => set((s) => ({ query: { ...s.query, page: 1, ...q } })),

    fetchList: async (signal) => {
      const gen = ++listGeneration;
      set({ listLoading: true });
      try {
        const page = await modelsApi.list(get().query, signal);
        if (gen !== listGeneration) return; // a newer fetch (other filters) superseded this one
        set({ ...applyList(data(), page.items, page.pagination), listLoading: false, listLoaded: true, listError: null });
      } catch (e) {
        if (signal?.aborted || gen !== listGeneration) return;
        set({ listLoading: false, listError: e instanceof Error ? e.message : String(e) });
        reportError(e, "Could not load models");
      }
    },

    fetchModel: async (id, signal) => {
      try {
        const model = await modelsApi.get(id, signal);
        set(applyModel(data(), model));
        return model;
      } catch (e) {
        if (signal?.aborted) return null;
        if (isApiError(e) && e.status === 404) {
          set(removeModel(data(), id));
          return null;
        }
        throw e;
      }
    },

    upsert: (model, opts) => set(applyModel(data(), model, opts)),

    onMessage: (msg) => {
      const id = modelIdOfProgressChannel(msg.channel);
      if (id === null || msg.event !== "progress") return;
      const event = parseDownloadProgress(msg.data);
      if (event && event.model_id === id) set(applyProgress(data(), event));
    },

    download: async (request) => {
      const model = await modelsApi.download(request);
      set(applyModel(data(), model, { prepend: true }));
      return model;
    },

    importModel: async (request) => {
      const model = await modelsApi.importModel(request);
      set(applyModel(data(), model, { prepend: true }));
      return model;
    },

    cancelDownload: (id) =>
      withPending(id, "cancel", "Could not cancel the download", async () => {
        const model = await modelsApi.cancelDownload(id);
        set(applyModel(data(), model));
        return model;
      }),

    retry: (id, token) =>
      withPending(id, "retry", "Could not retry", async () => {
        const model = await modelsApi.retry(id, token || undefined);
        set(applyModel(data(), model));
        return model;
      }),

    update: (id, patch) =>
      withPending(id, "save", "Could not save the model", async () => {
        const model = await modelsApi.update(id, patch);
        set(applyModel(data(), model));
        return model;
      }),

    remove: (id) =>
      withPending(id, "delete", "Could not delete the model", async () => {
        const name = get().models[id]?.name ?? id;
        const result = await modelsApi.remove(id);
        set(removeModel(data(), id));
        useToasts.getState().push({
          kind: "success",
          title: `Deleted ${name}`,
          message: `Freed ${formatBytes(result.bytes_freed)}${result.variants_removed ? `, ${result.variants_removed} variant(s) removed` : ""}.`,
        });
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
        useToasts.getState().push({ kind: "success", title: "Variant deleted", message: `Freed ${formatBytes(result.bytes_freed)}.` });
        return result;
      }),

    reset: () => {
      listGeneration++;
      set({ ...initial });
    },
  };
});

// --- live wiring ---------------------------------------------------------------------------------------

/** Refetch models touched by `models.*` jobs, at most once per REFETCH_MS per model. */
export const REFETCH_MS = 250;

/** Wire `job.updated` (refetch) and `models/{id}/progress` (live bytes) to the store; returns a stop function. */
export function startModelsLive(socket: {
  onMessage: (fn: (msg: WsMessage) => void) => () => void;
  subscribe: (channel: string) => () => void;
}): () => void {
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const subscriptions = new Map<string, () => void>();
  let listTimer: ReturnType<typeof setTimeout> | null = null;

  const refetch = (id: string) => {
    if (timers.has(id)) return;
    timers.set(
      id,
      setTimeout(() => {
        timers.delete(id);
        useModels
          .getState()
          .fetchModel(id)
          .catch((e) => reportError(e, "Could not refresh the model"));
      }, REFETCH_MS),
    );
  };
  const refetchList = () => {
    if (listTimer) return;
    listTimer = setTimeout(() => {
      listTimer = null;
      void useModels.getState().fetchList();
    }, REFETCH_MS);
  };

  const onJob = (job: Job) => {
    const id = modelIdOfJob(job);
    if (id === null) return;
    if (useModels.getState().models[id]) refetch(id);
    else refetchList(); // started elsewhere (CLI, another tab)
  };

  // Follow the progress channel of exactly the models that are still being produced.
  const syncSubscriptions = (models: Record<string, Model>) => {
    const wanted = new Set(Object.values(models).filter((m) => isActiveModelStatus(m.status)).map((m) => m.id));
    for (const [id, off] of subscriptions) {
      if (!wanted.has(id)) {
        off();
        subscriptions.delete(id);
      }
    }
    for (const id of wanted) if (!subscriptions.has(id)) subscriptions.set(id, socket.subscribe(progressChannel(id)));
  };

  const offMessage = socket.onMessage((msg) => {
    if (msg.channel === "jobs" && msg.event === "job.updated" && typeof (msg.data as Job | null)?.kind === "string") {
      onJob(msg.data as Job);
    } else {
      useModels.getState().onMessage(msg);
    }
  });
  syncSubscriptions(useModels.getState().models);
  const offStore = useModels.subscribe((s, prev) => {
    if (s.models !== prev.models) syncSubscriptions(s.models);
  });

  return () => {
    offMessage();
    offStore();
    for (const off of subscriptions.values()) off();
    subscriptions.clear();
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    if (listTimer) clearTimeout(listTimer);
  };
}
