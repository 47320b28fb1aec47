/**
 * Pure state transitions of the jobs store (unit-tested on their own).
 *
 * `active` holds queued/running jobs by id; `recent` the latest finished ones, newest first.
 * A finished status is final: a late event saying "running" for a job we already saw finish
 * is ignored, so replaying buffered events after a resync is safe.
 */
import type { Job } from "../api/types";

export const RECENT_LIMIT = 10;

export interface JobsData {
  active: Record<string, Job>;
  recent: Job[];
}

export const emptyJobsData: JobsData = { active: {}, recent: [] };

export interface UpdateResult {
  data: JobsData;
  /** The job, if this update is the first time we see it finished (→ a toast). */
  finished: Job | null;
}

export function applyJobUpdate(data: JobsData, job: Job): UpdateResult {
  const prevRecent = data.recent.find((j) => j.id === job.id);
  if (job.active) {
    if (prevRecent) return { data, finished: null }; // stale: it already finished
    return { data: { ...data, active: { ...data.active, [job.id]: job } }, finished: null };
  }
  const active = { ...data.active };
  delete active[job.id];
  const recent = [job, ...data.recent.filter((j) => j.id !== job.id)].slice(0, RECENT_LIMIT);
  return { data: { active, recent }, finished: prevRecent ? null : job };
}

export interface ResyncResult {
  data: JobsData;
  /** Jobs we knew as active that the snapshot shows finished (events we missed while offline). */
  finished: Job[];
}

/** Replace the state by a REST snapshot (active jobs, and any page of recent jobs). */
export function applyResync(prev: JobsData, activeJobs: Job[], recentJobs: Job[]): ResyncResult {
  const active: Record<string, Job> = {};
  for (const j of activeJobs) if (j.active) active[j.id] = j;
  const seen = new Set<string>();
  const recent: Job[] = [];
  for (const j of recentJobs) {
    if (j.active || seen.has(j.id)) continue;
    seen.add(j.id);
    recent.push(j);
  }
  recent.sort((a, b) => finishedKey(b).localeCompare(finishedKey(a)));
  const trimmed = recent.slice(0, RECENT_LIMIT);
  const finished = trimmed.filter((j) => prev.active[j.id] !== undefined);
  return { data: { active, recent: trimmed }, finished };
}

function finishedKey(j: Job): string {
  return j.finished_at ?? j.created_at;
}

const STATUS_ORDER: Record<string, number> = { running: 0, queued: 1 };

/** Active jobs for display: running before queued, oldest first within each. */
export function sortedActive(active: Record<string, Job>): Job[] {
  return Object.values(active).sort(
    (a, b) =>
      (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || a.created_at.localeCompare(b.created_at),
  );
}
