import { create } from "zustand";
import { endpoints } from "../api/endpoints";
import type { Job } from "../api/types";
import { applyJobUpdate, applyResync, emptyJobsData, RECENT_LIMIT, type JobsData } from "./jobsReducer";
import { reporting, whileMarked } from "./liveResource";
import { useToasts } from "./toasts";

interface JobsState extends JobsData {
  /** A REST snapshot has been applied at least once. */
  synced: boolean;
  syncing: boolean;
  lastSyncAt: number | null;
  /** Ids with a cancel request in flight from this tab. */
  cancelling: Record<string, true>;
  applyUpdate: (job: Job) => void;
  resync: () => Promise<void>;
  cancel: (id: string) => Promise<Job | null>;
  reset: () => void;
}

// Events that arrive while a resync is in flight are replayed on top of its snapshot.
let buffered: Job[] | null = null;
let generation = 0;

export function notifyFinished(job: Job): void {
  const push = useToasts.getState().push;
  const name = `${job.kind} ${job.id.slice(0, 8)}`;
  switch (job.status) {
    case "completed":
      push({ kind: "success", title: `Job completed: ${name}`, message: job.message ?? undefined });
      break;
    case "failed":
      push({ kind: "error", title: `Job failed: ${name}`, message: job.error ?? job.message ?? undefined });
      break;
    case "cancelled":
      push({ kind: "info", title: `Job cancelled: ${name}` });
      break;
    case "interrupted":
      push({ kind: "warning", title: `Job interrupted: ${name}`, message: job.error ?? job.message ?? undefined });
      break;
    default:
      break;
  }
}

export const useJobs = create<JobsState>()((set, get) => ({
  ...emptyJobsData,
  synced: false,
  syncing: false,
  lastSyncAt: null,
  cancelling: {},

  applyUpdate: (job) => {
    if (buffered) buffered.push(job);
    const { data, finished } = applyJobUpdate({ active: get().active, recent: get().recent }, job);
    set(data);
    if (finished) notifyFinished(finished);
  },

  resync: async () => {
    const gen = ++generation;
    buffered = [];
    set({ syncing: true });
    try {
      const [activePage, recentPage] = await Promise.all([
        endpoints.listJobs({ active: true, limit: 200 }),
        endpoints.listJobs({ active: false, limit: RECENT_LIMIT }),
      ]);
      if (gen !== generation) return; // a newer resync superseded this one
      const pending = buffered ?? [];
      buffered = null;
      const prev = { active: get().active, recent: get().recent };
      const res = applyResync(prev, activePage.items, recentPage.items);
      let data = res.data;
      const finished = [...res.finished];
      for (const job of pending) {
        const r = applyJobUpdate(data, job);
        data = r.data;
        if (r.finished && prev.recent.every((j) => j.id !== r.finished?.id)) finished.push(r.finished);
      }
      set({ ...data, synced: true, syncing: false, lastSyncAt: Date.now() });
      const toasted = new Set<string>();
      for (const j of finished) {
        if (toasted.has(j.id)) continue;
        toasted.add(j.id);
        notifyFinished(j);
      }
    } catch (e) {
      if (gen === generation) {
        buffered = null;
        set({ syncing: false });
      }
      throw e;
    }
  },

  cancel: (id) =>
    whileMarked(set, "cancelling", id, true as const, () =>
      reporting("Could not cancel job", async () => {
        const job = await endpoints.cancelJob(id);
        get().applyUpdate(job);
        return job;
      }),
    ),

  reset: () => {
    buffered = null;
    generation++;
    set({ ...emptyJobsData, synced: false, syncing: false, lastSyncAt: null, cancelling: {} });
  },
}));

/** A job's row as the store has it (active, or among the recent finished ones); undefined before it is seen. */
export function useJob(id: string | null): Job | undefined {
  return useJobs((s) => (id ? (s.active[id] ?? s.recent.find((j) => j.id === id)) : undefined));
}
