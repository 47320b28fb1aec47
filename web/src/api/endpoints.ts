/** The REST calls the shell uses, in one place (paths are checked against the schema). */
import { api, type ApiClient } from "./client";
import type { Health, Job, JobPage, JobStatus } from "./types";

export interface ListJobsQuery {
  status?: JobStatus[];
  /** true: queued or running; false: finished. */
  active?: boolean;
  kind?: string;
  page?: number;
  limit?: number;
}

export function makeEndpoints(client: ApiClient) {
  return {
    health: (signal?: AbortSignal): Promise<Health> => client.get("/api/v1/health", { signal }),
    listJobs: (query: ListJobsQuery = {}, signal?: AbortSignal): Promise<JobPage> =>
      client.list("/api/v1/jobs", { query, signal }),
    getJob: (id: string, signal?: AbortSignal): Promise<Job> =>
      client.get("/api/v1/jobs/{job_id}", { path: { job_id: id }, signal }),
    cancelJob: (id: string): Promise<Job> => client.post("/api/v1/jobs/{job_id}/cancel", { path: { job_id: id } }),
  };
}

export const endpoints = makeEndpoints(api);
