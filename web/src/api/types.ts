/**
 * Domain types, all derived from the generated OpenAPI schema via the routes that return them.
 * (No hand-written copies of server models: regenerate with `npm run gen:api`.)
 */
import type { ItemOf, PageOf } from "./client";

export type Health = ItemOf<"/api/v1/health">;
export type Job = ItemOf<"/api/v1/jobs/{job_id}">;
export type JobStatus = Job["status"];
export type JobPage = PageOf<"/api/v1/jobs">;
export type Pagination = JobPage["pagination"];

/** Statuses a job can still change from. */
export const ACTIVE_STATUSES = ["queued", "running"] as const satisfies readonly JobStatus[];
/** Every status, in display order. */
export const ALL_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "interrupted",
] as const satisfies readonly JobStatus[];

export function isActiveStatus(s: JobStatus): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(s);
}

/** A message from the WebSocket at /api/v1/ws. */
export interface WsMessage {
  channel: string;
  event: string;
  data: unknown;
}
