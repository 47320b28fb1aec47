/**
 * The Training store: the runs (newest first), each followed run's metric series, and the actions (start, pause,
 * stop, resume, delete).
 *
 * REST is the truth: a `job.updated` of a training job refetches its row, and a chart's series is the REST metrics
 * merged with the live `metrics` events of `trainings/{id}/metrics` (the server writes a step to its table before
 * it sends the event, so a refetch after a reconnect fills any gap).
 */
import { create } from "zustand";
import {
  metricsChannel,
  parseMetricsEvent,
  pointsOfEvent,
  trainingApi,
  trainingIdOfJob,
  trainingIdOfChannel,
  type Deleted,
  type MetricPoint,
  type Training,
  type TrainingAccepted,
  type TrainRequest,
} from "../api/training";
import type { Pagination, WsMessage } from "../api/types";
import { initialListState, reportFreed, reporting, resourceActions, startLiveResource, whileMarked, type ListState, type LiveSocketLike } from "./liveResource";
import { reportError, useToasts } from "./toasts";

export type TrainingAction = "pause" | "stop" | "resume" | "delete";
export const TRAININGS_PAGE_SIZE = 50;

export interface TrainingQuery {
  page: number;
  limit: number;
}

export interface TrainingData {
  trainings: Record<string, Training>;
  /** The list page's ids, newest first. */
  listIds: string[];
  pagination: Pagination | null;
  /** The metric points of the runs a view follows, by step then SAE; absent for runs nobody follows. */
  series: Record<string, MetricPoint[]>;
}

interface TrainingState extends TrainingData, ListState<TrainingQuery> {
  pending: Record<string, TrainingAction>;
  fetchList: (signal?: AbortSignal) => Promise<void>;
  /** Refetch one run (404 → deleted elsewhere: dropped; null then). */
  fetchTraining: (id: string, signal?: AbortSignal) => Promise<Training | null>;
  /** Follow a run's metrics: load the steps after the last one this tab has (all of them the first time). */
  fetchMetrics: (id: string, signal?: AbortSignal) => Promise<void>;
  onMessage: (msg: WsMessage) => void;
  /** Queue a run; throws the API error (the form shows it next to its field). */
  start: (request: TrainRequest) => Promise<TrainingAccepted>;
  pause: (id: string) => Promise<Training | null>;
  stop: (id: string) => Promise<Training | null>;
  resume: (id: string) => Promise<TrainingAccepted | null>;
  /** Delete the run, its metrics and checkpoints; throws the API error (409 while it runs) for the view to show. */
  remove: (id: string) => Promise<Deleted>;
  reset: () => void;
}

// --- pure state changes -------------------------------------------------------------------------------------

const pointKey = (p: Pick<MetricPoint, "member" | "step">) => `${p.step}:${p.member}`;
const byStep = (a: MetricPoint, b: MetricPoint) => a.step - b.step || a.member - b.member;

/** `current` with `incoming` points added (a point of the same step and SAE is replaced), ordered by step then SAE. */
export function mergePoints(current: readonly MetricPoint[], incoming: readonly MetricPoint[]): MetricPoint[] {
  if (incoming.length === 0) return current as MetricPoint[];
  const last = current[current.length - 1];
  const sorted = [...incoming].sort(byStep);
  // The common case, a live step after the last one: append.
  if (!last || byStep(last, sorted[0]!) < 0) return [...current, ...sorted];
  const points = new Map(current.map((p) => [pointKey(p), p]));
  for (const p of sorted) points.set(pointKey(p), p);
  return [...points.values()].sort(byStep);
}

export function applyTraining(s: TrainingData, t: Training, opts: { prepend?: boolean } = {}): Partial<TrainingData> {
  const known = s.listIds.includes(t.id);
  return {
    trainings: { ...s.trainings, [t.id]: t },
    listIds: known || !opts.prepend ? s.listIds : [t.id, ...s.listIds],
  };
}

export function applyList(s: TrainingData, items: Training[], pagination: Pagination): Partial<TrainingData> {
  const trainings = { ...s.trainings };
  for (const t of items) trainings[t.id] = t;
  return { trainings, listIds: items.map((t) => t.id), pagination };
}

export function removeTraining(s: TrainingData, id: string): Partial<TrainingData> {
  const trainings = { ...s.trainings };
  const series = { ...s.series };
  delete trainings[id];
  delete series[id];
  return { trainings, series, listIds: s.listIds.filter((x) => x !== id) };
}

/** A live step: its points join the series of a followed run, and the row shows it as its latest until the next refetch. */
export function applyMetrics(s: TrainingData, id: string, step: number, members: Record<string, number>[]): Partial<TrainingData> {
  const patch: Partial<TrainingData> = {};
  const followed = s.series[id];
  if (followed) patch.series = { ...s.series, [id]: mergePoints(followed, pointsOfEvent({ step, members })) };
  const t = s.trainings[id];
  if (t && t.active && step >= t.steps_done) {
    patch.trainings = { ...s.trainings, [id]: { ...t, steps_done: step, latest_metrics: members } };
  }
  return patch;
}

// --- the store ---------------------------------------------------------------------------------------------

const initialQuery: TrainingQuery = { page: 1, limit: TRAININGS_PAGE_SIZE };
const initial = {
  trainings: {},
  listIds: [],
  pagination: null,
  series: {},
  pending: {},
  ...initialListState(initialQuery),
} satisfies TrainingData & ListState<TrainingQuery> & Pick<TrainingState, "pending">;

export const useTrainings = create<TrainingState>()((set, get) => {
  const rest = resourceActions<TrainingState, Training>(set, get, {
    list: (query, signal) => trainingApi.list(query, signal),
    get: (id, signal) => trainingApi.get(id, signal),
    applyList: (items, pagination) => applyList(get(), items, pagination),
    applyItem: (t, opts) => applyTraining(get(), t, opts),
    removeItem: (id) => removeTraining(get(), id),
    listErrorTitle: "Could not load the trainings",
    initial,
  });
  const mark = <T>(id: string, action: TrainingAction, fn: () => Promise<T>): Promise<T> => whileMarked(set, "pending", id, action, fn);

  return {
    ...initial,
    fetchList: rest.fetchList,
    fetchTraining: rest.fetchItem,

    fetchMetrics: async (id, signal) => {
      // Mark the run followed first: live steps that land while this request runs are kept.
      if (!get().series[id]) set({ series: { ...get().series, [id]: [] } });
      const have = get().series[id] ?? [];
      const after = have.length ? have[have.length - 1]!.step : -1;
      const points = await trainingApi.metrics(id, after, signal);
      if (signal?.aborted) return;
      const now = get().series[id] ?? [];
      set({ series: { ...get().series, [id]: mergePoints(now, points) } });
    },

    onMessage: (msg) => {
      const event = parseMetricsEvent(msg);
      if (event) set(applyMetrics(get(), event.training_id, event.step, event.members));
    },

    start: async (request) => {
      const t = rest.keep(await trainingApi.start(request), { prepend: true });
      return t;
    },

    pause: (id) =>
      mark(id, "pause", () =>
        reporting("Could not pause the training", async () => {
          const t = rest.keep(await trainingApi.pause(id));
          useToasts.getState().push({ kind: "info", title: `Pausing ${t.name}`, message: "It checkpoints after the current step; Resume continues from there." });
          return t;
        }),
      ),

    stop: (id) =>
      mark(id, "stop", () =>
        reporting("Could not stop the training", async () => {
          const t = rest.keep(await trainingApi.stop(id));
          useToasts.getState().push({ kind: "info", title: `Finishing ${t.name} early`, message: "It ends after the current step and keeps its SAEs." });
          return t;
        }),
      ),

    resume: (id) =>
      mark(id, "resume", () =>
        reporting("Could not resume the training", async () => {
          const t = rest.keep(await trainingApi.resume(id));
          useToasts.getState().push({ kind: "info", title: `Resuming ${t.name}`, message: `from step ${t.steps_done.toLocaleString("en-US")}` });
          return t;
        }),
      ),

    remove: (id) => {
      const name = get().trainings[id]?.name ?? id;
      return mark(id, "delete", async () => {
        const result = await trainingApi.remove(id);
        set(removeTraining(get(), id));
        reportFreed(`Deleted ${name}`, result.bytes_freed, "; its SAEs are kept");
        return result;
      });
    },

    reset: rest.reset,
  };
});

// --- live wiring -------------------------------------------------------------------------------------------

/** Wire `job.updated` (refetch) and `trainings/{id}/metrics` (live steps) to the store; returns a stop function. */
export function startTrainingsLive(socket: LiveSocketLike): () => void {
  return startLiveResource(socket, {
    store: useTrainings,
    items: (s) => s.trainings,
    idOfJob: trainingIdOfJob,
    isActive: (t) => t.active,
    progressChannel: metricsChannel,
    fetchItem: (id) => useTrainings.getState().fetchTraining(id),
    // A run this tab does not know (started by the CLI or another tab): reload the list.
    fetchList: () => useTrainings.getState().fetchList().catch((e) => reportError(e, "Could not load the trainings")),
    refreshErrorTitle: "Could not refresh the training",
    onMessage: (msg, refetch) => {
      if (msg.event === "status") {
        const id = trainingIdOfChannel(msg.channel);
        if (id !== null) refetch(id);
      } else {
        useTrainings.getState().onMessage(msg);
      }
    },
  });
}
