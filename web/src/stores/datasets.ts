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
import type { Job, WsMessage } from "../api/types";
import { formatBytes } from "../lib/format";
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
import { reportError, useToasts } from "./toasts";

export const DATASETS_PAGE_SIZE = 24;

export type DatasetAction =
  | "cancel"
  | "retry"
  | "delete"
  | "save"
  | "tokenize"
  | `cancel-tokenization:${string}`
  | `delete-tokenization:${string}`;

interface DatasetsState extends DatasetsData {
  query: ListDatasetsQuery;
  listLoading: boolean;
  listLoaded: boolean;
  listError: string | null;
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
  query: { page: 1, limit: DATASETS_PAGE_SIZE } as ListDatasetsQuery,
  listLoading: false,
  listLoaded: false,
  listError: null as string | null,
  pending: {} as Record<string, DatasetAction>,
};

let listGeneration = 0;

export const useDatasets = create<DatasetsState>()((set, get) => {
  const data = (): DatasetsData => {
    const s = get();
    return { datasets: s.datasets, listIds: s.listIds, pagination: s.pagination, progress: s.progress, tokenizeProgress: s.tokenizeProgress };
  };

  /** Run `fn` with `action` marked pending for `id`; errors become a toast with the server's text. */
  async function withPending<T>(id: string, action: DatasetAction, title: string, fn: () => Promise<T>): Promise<T | null> {
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

  const added = (dataset: DatasetAccepted) => {
    set(applyDataset(data(), dataset, { prepend: true }));
    return dataset;
  };

  return {
    ...initial,

    setQuery: (q) => set((s) => ({ query: { ...s.query, page: 1, ...q } })),

    fetchList: async (signal) => {
      const gen = ++listGeneration;
      set({ listLoading: true });
      try {
        const page = await datasetsApi.list(get().query, signal);
        if (gen !== listGeneration) return; // a newer fetch (other filters) superseded this one
        set({ ...applyList(data(), page.items, page.pagination), listLoading: false, listLoaded: true, listError: null });
      } catch (e) {
        if (signal?.aborted || gen !== listGeneration) return;
        set({ listLoading: false, listError: e instanceof Error ? e.message : String(e) });
        reportError(e, "Could not load datasets");
      }
    },

    fetchDataset: async (id, signal) => {
      try {
        const dataset = await datasetsApi.get(id, signal);
        set(applyDataset(data(), dataset));
        return dataset;
      } catch (e) {
        if (signal?.aborted) return null;
        if (isApiError(e) && e.status === 404) {
          set(removeDataset(data(), id));
          return null;
        }
        throw e;
      }
    },

    upsert: (dataset, opts) => set(applyDataset(data(), dataset, opts)),

    onMessage: (msg) => {
      const id = datasetIdOfProgressChannel(msg.channel);
      if (id === null) return;
      const event = parseDatasetEvent(msg.event, msg.data);
      if (event && event.dataset_id === id) set(applyEvent(data(), event));
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

    cancel: (id) =>
      withPending(id, "cancel", "Could not cancel", async () => {
        const dataset = await datasetsApi.cancel(id);
        set(applyDataset(data(), dataset));
        return dataset;
      }),

    retry: (id, token) =>
      withPending(id, "retry", "Could not retry", async () => {
        const dataset = await datasetsApi.retry(id, token || undefined);
        set(applyDataset(data(), dataset));
        return dataset;
      }),

    update: (id, patch) =>
      withPending(id, "save", "Could not save the dataset", async () => {
        const dataset = await datasetsApi.update(id, patch);
        set(applyDataset(data(), dataset));
        return dataset;
      }),

    remove: async (id) => {
      const name = get().datasets[id]?.name ?? id;
      set((s) => ({ pending: { ...s.pending, [id]: "delete" } }));
      try {
        const result = await datasetsApi.remove(id);
        set(removeDataset(data(), id));
        useToasts.getState().push({ kind: "success", title: `Deleted ${name}`, message: `Freed ${formatBytes(result.bytes_freed)}.` });
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
      } finally {
        set((s) => {
          const pending = { ...s.pending };
          delete pending[id];
          return { pending };
        });
      }
    },

    tokenize: async (id, request) => {
      set((s) => ({ pending: { ...s.pending, [id]: "tokenize" } }));
      try {
        const tokenization = await datasetsApi.tokenize(id, request);
        const dataset = get().datasets[id];
        if (dataset && !dataset.tokenizations.some((t) => t.id === tokenization.id)) {
          set(applyDataset(data(), { ...dataset, tokenizations: [...dataset.tokenizations, tokenization] }));
        }
        return tokenization;
      } finally {
        set((s) => {
          const pending = { ...s.pending };
          delete pending[id];
          return { pending };
        });
      }
    },

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
        useToasts.getState().push({ kind: "success", title: "Tokenization deleted", message: `Freed ${formatBytes(result.bytes_freed)}.` });
        return result;
      }),

    reset: () => {
      listGeneration++;
      set({ ...initial });
    },
  };
});

// --- live wiring ---------------------------------------------------------------------------------------

/** Refetch datasets touched by `datasets.*` jobs, at most once per REFETCH_MS per dataset. */
export const REFETCH_MS = 250;

/** Wire `job.updated` (refetch) and `datasets/{id}/progress` (live progress) to the store; returns a stop function. */
export function startDatasetsLive(socket: {
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
        useDatasets
          .getState()
          .fetchDataset(id)
          .catch((e) => reportError(e, "Could not refresh the dataset"));
      }, REFETCH_MS),
    );
  };
  const refetchList = () => {
    if (listTimer) return;
    listTimer = setTimeout(() => {
      listTimer = null;
      void useDatasets.getState().fetchList();
    }, REFETCH_MS);
  };

  const onJob = (job: Job) => {
    const id = datasetIdOfJob(job);
    if (id === null) return;
    if (useDatasets.getState().datasets[id]) refetch(id);
    else refetchList(); // started elsewhere (CLI, another tab)
  };

  // Follow the progress channel of exactly the datasets something still runs on.
  const syncSubscriptions = (datasets: Record<string, Dataset>) => {
    const wanted = new Set(Object.values(datasets).filter(hasActiveWork).map((d) => d.id));
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
      return;
    }
    const id = datasetIdOfProgressChannel(msg.channel);
    if (id === null) return;
    if (msg.event === "ready" || msg.event === "tokenized") refetch(id);
    else useDatasets.getState().onMessage(msg);
  });
  syncSubscriptions(useDatasets.getState().datasets);
  const offStore = useDatasets.subscribe((s, prev) => {
    if (s.datasets !== prev.datasets) syncSubscriptions(s.datasets);
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
