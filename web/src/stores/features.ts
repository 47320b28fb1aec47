/**
 * The Features store: one SAE's analyses (newest first), the live progress of those that run, and the actions
 * (start, pause, resume, delete). REST is the truth: a `job.updated` of an analysis job or a `status` event
 * refetches the row; `progress` events only move its bar between refetches.
 */
import { create } from "zustand";
import {
  analysisChannel,
  analysisIdOfJob,
  featuresApi,
  parseAnalysisEvent,
  type Analysis,
  type AnalysisAccepted,
  type AnalysisEvent,
  type AnalyzeRequest,
  type Deleted,
} from "../api/features";
import type { Pagination } from "../api/types";
import { initialListState, reportFreed, reporting, resourceActions, startLiveResource, whileMarked, type ListState, type LiveSocketLike } from "./liveResource";
import { reportError } from "./toasts";

export type AnalysisAction = "pause" | "resume" | "delete";
export type AnalysisProgress = Extract<AnalysisEvent, { kind: "progress" }>;

interface AnalysesQuery {
  saeId: string;
  page: number;
  limit: number;
}

interface AnalysesState extends ListState<AnalysesQuery> {
  analyses: Record<string, Analysis>;
  listIds: string[];
  /** The latest progress event of each running analysis (cleared when its row is refetched as not active). */
  progress: Record<string, AnalysisProgress>;
  pending: Record<string, AnalysisAction>;
  fetchList: (signal?: AbortSignal) => Promise<void>;
  fetchAnalysis: (id: string, signal?: AbortSignal) => Promise<Analysis | null>;
  /** Show the analyses of this SAE (a new one empties the list first). */
  showSae: (saeId: string) => void;
  /** Queue an analysis; throws the API error (the form shows it). */
  start: (saeId: string, body: AnalyzeRequest) => Promise<AnalysisAccepted>;
  pause: (id: string) => Promise<Analysis | null>;
  resume: (id: string) => Promise<AnalysisAccepted | null>;
  remove: (id: string) => Promise<Deleted | null>;
}

const initial = { analyses: {}, listIds: [], progress: {}, pending: {}, ...initialListState<AnalysesQuery>({ saeId: "", page: 1, limit: 200 }) };

export const useAnalyses = create<AnalysesState>()((set, get) => {
  const rest = resourceActions<AnalysesState, Analysis>(set, get, {
    list: (q, signal) => featuresApi.list(q.saeId, signal),
    get: (id, signal) => featuresApi.get(id, signal),
    applyList: (items: Analysis[], _pagination: Pagination) => {
      const analyses = { ...get().analyses };
      for (const a of items) analyses[a.id] = a;
      return { analyses, listIds: items.map((a) => a.id) };
    },
    applyItem: (a, opts) => {
      const s = get();
      const progress = { ...s.progress };
      if (!a.active) delete progress[a.id];
      // Only an analysis of the SAE shown joins the list.
      const prepend = opts?.prepend && a.sae_id === s.query.saeId && !s.listIds.includes(a.id);
      return { analyses: { ...s.analyses, [a.id]: a }, progress, listIds: prepend ? [a.id, ...s.listIds] : s.listIds };
    },
    removeItem: (id) => removeFrom(get(), id),
    listErrorTitle: "Could not load the analyses",
    initial,
  });
  return {
    ...initial,
    fetchList: (signal) => (get().query.saeId ? rest.fetchList(signal) : Promise.resolve()),
    fetchAnalysis: rest.fetchItem,
    showSae: (saeId) => {
      if (get().query.saeId !== saeId) set({ query: { ...get().query, saeId }, listIds: [], listLoaded: false });
    },
    start: async (saeId, body) => rest.keep(await featuresApi.start(saeId, body), { prepend: true }),
    pause: (id) => whileMarked(set, "pending", id, "pause", () => reporting("Could not pause the analysis", async () => rest.keep(await featuresApi.pause(id)))),
    resume: (id) => whileMarked(set, "pending", id, "resume", () => reporting("Could not resume the analysis", async () => rest.keep(await featuresApi.resume(id)))),
    remove: (id) =>
      whileMarked(set, "pending", id, "delete", () =>
        reporting("Could not delete the analysis", async () => {
          const result = await featuresApi.remove(id);
          set(removeFrom(get(), id));
          reportFreed("Deleted the analysis", result.bytes_freed);
          return result;
        }),
      ),
  };
});

function removeFrom(s: AnalysesState, id: string): Partial<AnalysesState> {
  const analyses = { ...s.analyses };
  delete analyses[id];
  return { analyses, listIds: s.listIds.filter((x) => x !== id) };
}

/** Wire `job.updated` and `feature-analyses/{id}` (progress, status) to the store; returns a stop function. */
export function startAnalysesLive(socket: LiveSocketLike): () => void {
  return startLiveResource(socket, {
    store: useAnalyses,
    items: (s) => s.analyses,
    idOfJob: analysisIdOfJob,
    isActive: (a) => a.active,
    progressChannel: analysisChannel,
    fetchItem: (id) => useAnalyses.getState().fetchAnalysis(id),
    fetchList: () => useAnalyses.getState().fetchList().catch((e) => reportError(e, "Could not load the analyses")),
    refreshErrorTitle: "Could not refresh the analysis",
    onMessage: (msg, refetch) => {
      const event = parseAnalysisEvent(msg);
      if (!event) return;
      if (event.kind === "status") refetch(event.analysis_id);
      else useAnalyses.setState((s) => ({ progress: { ...s.progress, [event.analysis_id]: event } }));
    },
  });
}
