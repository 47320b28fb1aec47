/**
 * The Datasets store: the list page, every dataset this tab has fetched, live download/import/tokenize progress.
 *
 * REST is the truth: every `job.updated` of a `datasets.*` job, and every `ready`/`tokenized` event, triggers
 * a refetch of its dataset; a (re)connect refetches the list. Progress events only make the bars move
 * between refetches. No token ever enters this store: actions take it as an argument and hand it to the API.
 */
import { create } from "zustand";
import { isApiError } from "../api/client";
import {
  datasetsApi,
  parseDatasetEvent,
  type Dataset,
  type DatasetAccepted,
  type DatasetDeleteResult,
  type DatasetDownloadRequest,
  type DatasetImportRequest,
  type DatasetPatch,
  type ExampleName,
  type ListDatasetsQuery,
  type Tokenization,
  type TokenizationAccepted,
  type TokenizeRequest,
  type UploadFields,
  type UploadOptions,
} from "../api/datasets";
import type { WsMessage } from "../api/types";
import {
  applyDataset,
  applyEvent,
  applyList,
  datasetIdOfJob,
  datasetIdOfProgressChannel,
  emptyDatasetsData,
  hasActiveWork,
  progressChannel,
  removeDataset,
  type DatasetsData,
} from "./datasetsReducer";
import { initialListState, reportFreed, reporting, resourceActions, startLiveResource, whileMarked, type ListState, type LiveSocketLike } from "./liveResource";
import { reportError, useToasts } from "./toasts";

export { REFETCH_MS } from "./liveResource";

export const DATASETS_PAGE_SIZE = 24;

export type DatasetAction =
  | "cancel"
  | "retry"
  | "delete"
  | "save"
  | "tokenize"
  | `cancel-tokenization:${string}`
  | `delete-tokenization:${string}`;

interface DatasetsState extends DatasetsData, ListState<ListDatasetsQuery> {
  /** Actions in flight from this tab, by dataset id. */
  pending: Record<string, DatasetAction>;

  setQuery: (q: Partial<ListDatasetsQuery>) => void;
  fetchList: (signal?: AbortSignal) => Promise<void>;
  /** Refetch one dataset (404 → it was deleted elsewhere: drop it). */
  fetchDataset: (id: string, signal?: AbortSignal) => Promise<Dataset | null>;
  upsert: (dataset: Dataset, opts?: { prepend?: boolean }) => void;
  onMessage: (msg: WsMessage) => void;
  /** Start a hub download; throws the API error (the form shows it inline). */
  download: (request: DatasetDownloadRequest) => Promise<DatasetAccepted>;
  /** Import a server path; throws the API error (the dialog shows it inline). */
  importPath: (request: DatasetImportRequest) => Promise<DatasetAccepted>;
  /** Upload files from the browser; throws the API error (413 included), reports bytes sent. */
  upload: (files: readonly File[], fields: UploadFields, opts?: Pick<UploadOptions, "onProgress" | "signal">) => Promise<DatasetAccepted>;
  /** Add an example corpus; errors become a toast. */
  addExample: (name: ExampleName) => Promise<DatasetAccepted | null>;
  cancel: (id: string) => Promise<Dataset | null>;
  retry: (id: string, token?: string) => Promise<DatasetAccepted | null>;
  update: (id: string, patch: DatasetPatch) => Promise<Dataset | null>;
  /** Delete; a 409 (a job uses it) becomes a toast that says which job and what to do. */
  remove: (id: string) => Promise<DatasetDeleteResult | null>;
  /** Start a tokenization; throws the API error (the form shows it inline). */
  tokenize: (id: string, request: TokenizeRequest) => Promise<TokenizationAccepted>;
  cancelTokenization: (id: string, tokenizationId: string) => Promise<Tokenization | null>;
  deleteTokenization: (id: string, tokenizationId: string) => Promise<DatasetDeleteResult | null>;
  reset: () => void;
}

const initial = {
  ...emptyDatasetsData,
  ...initialListState<ListDatasetsQuery>({ page: 1, limit: DATASETS_PAGE_SIZE }),
  pending: {} as Record<string, DatasetAction>,
};

export const useDatasets = create<DatasetsState>()((set, get) => {
  const data = (): DatasetsData => {
    const s = get();
    return { datasets: s.datasets, listIds: s.listIds, pagination: s.pagination, progress: s.progress, tokenizeProgress: s.tokenizeProgress };
  };

  const { setQuery, fetchList, fetchItem, upsert, keep, reset } = resourceActions(set, get, {
    list: (query, signal) => datasetsApi.list(query, signal),
    get: (id, signal) => datasetsApi.get(id, signal),
    applyList: (items, pagination) => applyList(data(), items, pagination),
    applyItem: (dataset, opts) => applyDataset(data(), dataset, opts),
    removeItem: (id) => removeDataset(data(), id),
    listErrorTitle: "Could not load datasets",
    initial,
  });

  const mark = <T>(id: string, action: DatasetAction, fn: () => Promise<T>): Promise<T> => whileMarked(set, "pending", id, action, fn);
  /** Run `fn` with `action` marked pending for `id`; errors become a toast with the server's text. */
  const withPending = <T>(id: string, action: DatasetAction, title: string, fn: () => Promise<T>): Promise<T | null> =>
    mark(id, action, () => reporting(title, fn));

  const added = (dataset: DatasetAccepted) => keep(dataset, { prepend: true });

  return {
    ...initial,

    setQuery,
    fetchList,
    fetchDataset: fetchItem,

    upsert,

    onMessage: (msg) => {
      const event = parseDatasetEvent(msg);
      if (event) set(applyEvent(data(), event));
    },

    download: async (request) => added(await datasetsApi.download(request)),
    importPath: async (request) => added(await datasetsApi.importPath(request)),
    upload: async (files, fields, opts = {}) => added(await datasetsApi.upload(files, fields, opts)),

    addExample: async (name) => {
      try {
        const dataset = added(await datasetsApi.addExample(name));
        useToasts.getState().push({ kind: "info", title: `Adding ${dataset.name}`, message: `Job ${dataset.job_id}` });
        return dataset;
      } catch (e) {
        reportError(e, "Could not add the example dataset");
        return null;
      }
    },

    cancel: (id) => withPending(id, "cancel", "Could not cancel", async () => keep(await datasetsApi.cancel(id))),
    retry: (id, token) => withPending(id, "retry", "Could not retry", async () => keep(await datasetsApi.retry(id, token || undefined))),
    update: (id, patch) => withPending(id, "save", "Could not save the dataset", async () => keep(await datasetsApi.update(id, patch))),

    remove: (id) => {
      const name = get().datasets[id]?.name ?? id;
      return mark(id, "delete", async () => {
        try {
          const result = await datasetsApi.remove(id);
          set(removeDataset(data(), id));
          reportFreed(`Deleted ${name}`, result.bytes_freed);
          return result;
        } catch (e) {
          if (isApiError(e) && e.status === 409) {
            useToasts.getState().push({
              kind: "warning",
              title: `${name} is in use and was not deleted`,
              message: `${e.message}. Nothing was removed.`,
            });
            void get().fetchDataset(id).catch(() => undefined);
          } else {
            reportError(e, "Could not delete the dataset");
          }
          return null;
        }
      });
    },

    tokenize: (id, request) =>
      mark(id, "tokenize", async () => {
        const tokenization = await datasetsApi.tokenize(id, request);
        const dataset = get().datasets[id];
        if (dataset && !dataset.tokenizations.some((t) => t.id === tokenization.id)) {
          set(applyDataset(data(), { ...dataset, tokenizations: [...dataset.tokenizations, tokenization] }));
        }
        return tokenization;
      }),

    cancelTokenization: (id, tokenizationId) =>
      withPending(id, `cancel-tokenization:${tokenizationId}`, "Could not cancel the tokenization", async () => {
        const tokenization = await datasetsApi.cancelTokenization(id, tokenizationId);
        await get().fetchDataset(id);
        return tokenization;
      }),

    deleteTokenization: (id, tokenizationId) =>
      withPending(id, `delete-tokenization:${tokenizationId}`, "Could not delete the tokenization", async () => {
        const result = await datasetsApi.deleteTokenization(id, tokenizationId);
        await get().fetchDataset(id);
        reportFreed("Tokenization deleted", result.bytes_freed);
        return result;
      }),

    reset,
  };
});

// --- live wiring ---------------------------------------------------------------------------------------

/** Wire `job.updated` (refetch) and `datasets/{id}/progress` (live progress) to the store; returns a stop function. */
export function startDatasetsLive(socket: LiveSocketLike): () => void {
  return startLiveResource(socket, {
    store: useDatasets,
    items: (s) => s.datasets,
    idOfJob: datasetIdOfJob,
    isActive: hasActiveWork,
    progressChannel,
    fetchItem: (id) => useDatasets.getState().fetchDataset(id),
    fetchList: () => useDatasets.getState().fetchList(),
    refreshErrorTitle: "Could not refresh the dataset",
    onMessage: (msg, refetch) => {
      const id = datasetIdOfProgressChannel(msg.channel);
      if (id === null) return;
      if (msg.event === "ready" || msg.event === "tokenized") refetch(id);
      else useDatasets.getState().onMessage(msg);
    },
  });
}
