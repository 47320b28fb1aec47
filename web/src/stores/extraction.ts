/**
 * The Extraction store: every extraction this tab has fetched, each model's history, live progress, and the
 * actions (start, cancel, resume, delete).
 *
 * REST is the truth: a `job.updated` of an extraction job and a `status` event on `extractions/{id}` trigger a
 * refetch of the row; `progress` events only move the bar between refetches, so a reload renders the same.
 */
import { create } from "zustand";
import { isApiError } from "../api/client";
import {
  extractionApi,
  extractionChannel,
  extractionIdOfChannel,
  extractionIdOfJob,
  parseExtractionEvent,
  type Extraction,
  type ExtractionAccepted,
  type ExtractionDeleteResult,
  type ExtractionProgressEvent,
  type ExtractRequest,
} from "../api/extraction";
import type { WsMessage } from "../api/types";
import { reportFreed, reporting, startLiveResource, whileMarked, type LiveSocketLike } from "./liveResource";
import { reportError, useToasts } from "./toasts";

export type ExtractionAction = "cancel" | "resume" | "delete";
export const HISTORY_PAGE_SIZE = 100;

export interface ExtractionData {
  extractions: Record<string, Extraction>;
  /** Each model's extraction ids, newest first. */
  byModel: Record<string, string[]>;
  /** The latest live progress of extractions still running. */
  progress: Record<string, ExtractionProgressEvent>;
}

interface ExtractionState extends ExtractionData {
  /** Models whose history has been loaded at least once. */
  historyLoaded: Record<string, boolean>;
  pending: Record<string, ExtractionAction>;
  fetchHistory: (modelId: string, signal?: AbortSignal) => Promise<void>;
  /** Refetch one extraction (404 → deleted elsewhere: dropped; null then). */
  fetchExtraction: (id: string, signal?: AbortSignal) => Promise<Extraction | null>;
  onMessage: (msg: WsMessage) => void;
  /** Queue an extraction; throws the API error (the form shows it next to its field). */
  start: (modelId: string, request: ExtractRequest) => Promise<ExtractionAccepted>;
  cancel: (id: string) => Promise<Extraction | null>;
  resume: (id: string) => Promise<ExtractionAccepted | null>;
  /** Delete it and its activations; throws the API error (409 while something uses it) for the view to show. */
  remove: (id: string) => Promise<ExtractionDeleteResult>;
  reset: () => void;
}

// --- pure state changes -------------------------------------------------------------------------------------

export function applyExtraction(s: ExtractionData, e: Extraction): Partial<ExtractionData> {
  const ids = s.byModel[e.model_id] ?? [];
  const progress = { ...s.progress };
  if (!e.active) delete progress[e.id];
  return {
    extractions: { ...s.extractions, [e.id]: e },
    byModel: ids.includes(e.id) ? s.byModel : { ...s.byModel, [e.model_id]: [e.id, ...ids] },
    progress,
  };
}

export function applyHistory(s: ExtractionData, modelId: string, items: Extraction[]): Partial<ExtractionData> {
  const extractions = { ...s.extractions };
  for (const id of s.byModel[modelId] ?? []) delete extractions[id];
  for (const e of items) extractions[e.id] = e;
  return { extractions, byModel: { ...s.byModel, [modelId]: items.map((e) => e.id) } };
}

export function removeExtraction(s: ExtractionData, id: string): Partial<ExtractionData> {
  const gone = s.extractions[id];
  const extractions = { ...s.extractions };
  const progress = { ...s.progress };
  delete extractions[id];
  delete progress[id];
  if (!gone) return { extractions, progress };
  const ids = (s.byModel[gone.model_id] ?? []).filter((x) => x !== id);
  return { extractions, progress, byModel: { ...s.byModel, [gone.model_id]: ids } };
}

// --- the store ---------------------------------------------------------------------------------------------

const initial: ExtractionData & Pick<ExtractionState, "historyLoaded" | "pending"> = {
  extractions: {},
  byModel: {},
  progress: {},
  historyLoaded: {},
  pending: {},
};

export const useExtractions = create<ExtractionState>()((set, get) => {
  const keep = <T extends Extraction>(e: T): T => {
    set(applyExtraction(get(), e));
    return e;
  };
  const mark = <T>(id: string, action: ExtractionAction, fn: () => Promise<T>): Promise<T> => whileMarked(set, "pending", id, action, fn);

  return {
    ...initial,

    fetchHistory: async (modelId, signal) => {
      const page = await extractionApi.listForModel(modelId, { limit: HISTORY_PAGE_SIZE }, signal);
      if (signal?.aborted) return;
      set({ ...applyHistory(get(), modelId, page.items), historyLoaded: { ...get().historyLoaded, [modelId]: true } });
    },

    fetchExtraction: async (id, signal) => {
      try {
        return keep(await extractionApi.get(id, signal));
      } catch (e) {
        if (signal?.aborted) return null;
        if (isApiError(e) && e.status === 404) {
          set(removeExtraction(get(), id));
          return null;
        }
        throw e;
      }
    },

    onMessage: (msg) => {
      const event = parseExtractionEvent(msg);
      if (event?.kind !== "progress") return;
      const id = event.extraction_id;
      const known = get().extractions[id];
      if (known && !known.active) return;
      set({ progress: { ...get().progress, [id]: event } });
    },

    start: async (modelId, request) => keep(await extractionApi.start(modelId, request)),

    cancel: (id) => mark(id, "cancel", () => reporting("Could not cancel the extraction", async () => keep(await extractionApi.cancel(id)))),

    resume: (id) =>
      mark(id, "resume", () =>
        reporting("Could not resume the extraction", async () => {
          const e = keep(await extractionApi.resume(id));
          useToasts.getState().push({ kind: "info", title: `Resuming ${e.name}`, message: `from sample ${e.samples_done}` });
          return e;
        }),
      ),

    remove: (id) => {
      const name = get().extractions[id]?.name ?? id;
      return mark(id, "delete", async () => {
        const result = await extractionApi.remove(id);
        set(removeExtraction(get(), id));
        reportFreed(`Deleted ${name}`, result.bytes_freed);
        return result;
      });
    },

    reset: () => set({ ...initial }),
  };
});

// --- live wiring -------------------------------------------------------------------------------------------

/** Wire `job.updated` (refetch) and `extractions/{id}` (live progress, status) to the store; returns a stop function. */
export function startExtractionsLive(socket: LiveSocketLike): () => void {
  return startLiveResource(socket, {
    store: useExtractions,
    items: (s) => s.extractions,
    idOfJob: extractionIdOfJob,
    isActive: (e) => e.active,
    progressChannel: extractionChannel,
    fetchItem: (id) => useExtractions.getState().fetchExtraction(id),
    // A job of an extraction this tab does not know: reload the histories it shows.
    fetchList: async () => {
      const { byModel, fetchHistory } = useExtractions.getState();
      await Promise.all(Object.keys(byModel).map((m) => fetchHistory(m).catch((e) => reportError(e, "Could not load the extractions"))));
    },
    refreshErrorTitle: "Could not refresh the extraction",
    onMessage: (msg, refetch) => {
      const id = extractionIdOfChannel(msg.channel);
      if (id === null) return;
      if (msg.event === "status") refetch(id);
      else useExtractions.getState().onMessage(msg);
    },
  });
}
