/**
 * Domain types, all derived from the generated OpenAPI schema via the routes that return them.
 * (No hand-written copies of server models: regenerate with `npm run gen:api`.)
 */
import { isOneOf } from "../lib/oneOf";
import type { BodyOf, ItemOf, PageOf } from "./client";

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

export const isActiveStatus = (s: JobStatus): boolean => isOneOf(ACTIVE_STATUSES, s);

/** A message from the WebSocket at /api/v1/ws. */
export interface WsMessage {
  channel: string;
  event: string;
  data: unknown;
}

// --- Models ------------------------------------------------------------------------------------------

export type Model = ItemOf<"/api/v1/models/{model_id}">;
export type ModelStatus = Model["status"];
export type Variant = Model["variants"][number];
export type VariantStatus = Variant["status"];
export type ModelPage = PageOf<"/api/v1/models">;
export type Preview = ItemOf<"/api/v1/models/preview", "post">;
export type FormatEstimate = Preview["formats"][number];
export type ModelFormat = FormatEstimate["format"];
export type FitLevel = FormatEstimate["fit"];
export type FormatsInfo = ItemOf<"/api/v1/models/{model_id}/formats">;
export type Architecture = ItemOf<"/api/v1/models/{model_id}/architecture">;
export type ArchitectureLayer = Architecture["layers"][number];
export type ModelComparison = ItemOf<"/api/v1/models/compare">;
export type DeleteResult = ItemOf<"/api/v1/models/{model_id}", "delete">;
export type ModelAccepted = ItemOf<"/api/v1/models/download", "post">;
export type VariantAccepted = ItemOf<"/api/v1/models/{model_id}/variants", "post">;
export type PreviewRequest = BodyOf<"/api/v1/models/preview", "post">;
export type DownloadRequest = BodyOf<"/api/v1/models/download", "post">;
export type ImportRequest = BodyOf<"/api/v1/models/import", "post">;
export type ModelPatch = BodyOf<"/api/v1/models/{model_id}", "patch">;
export type QuantizeRequest = BodyOf<"/api/v1/models/{model_id}/variants", "post">;

/** Every format, smallest last, in the order the server lists them. */
export const MODEL_FORMATS = ["fp32", "fp16", "bf16", "q8", "q4", "q2"] as const satisfies readonly ModelFormat[];
export const MODEL_STATUSES = [
  "queued",
  "downloading",
  "importing",
  "ready",
  "incompatible",
  "error",
  "cancelled",
  "interrupted",
] as const satisfies readonly ModelStatus[];
/** Statuses a model is still being produced in (a download or import job is working on it). */
export const ACTIVE_MODEL_STATUSES = ["queued", "downloading", "importing"] as const satisfies readonly ModelStatus[];
/** Statuses a download can be started again from. */
export const RETRYABLE_MODEL_STATUSES = ["error", "interrupted", "cancelled"] as const satisfies readonly ModelStatus[];
export const ACTIVE_VARIANT_STATUSES = ["queued", "loading"] as const satisfies readonly VariantStatus[];

export const isActiveModelStatus = (s: ModelStatus): boolean => isOneOf(ACTIVE_MODEL_STATUSES, s);
export const isRetryableModelStatus = (s: ModelStatus): boolean => isOneOf(RETRYABLE_MODEL_STATUSES, s);
export const isActiveVariantStatus = (s: VariantStatus): boolean => isOneOf(ACTIVE_VARIANT_STATUSES, s);

/**
 * Bytes of a Hub download, as live WebSocket events carry them (models' `progress`, datasets' `download`).
 *
 * WebSocket payloads are not in the OpenAPI document: this mirrors `mistudio.lens.hub_download.DownloadProgress`,
 * and `parseHubDownloadProgress` checks it at runtime.
 */
export interface HubDownloadProgress {
  bytes_done: number;
  bytes_total: number;
  bytes_per_second: number;
  eta_seconds: number | null;
  current_file: string | null;
  files_done: number;
  files_total: number;
}

/** The download figures of an event's data; null unless bytes done and total are numbers. */
export function parseHubDownloadProgress(d: Record<string, unknown>): HubDownloadProgress | null {
  const num = (k: string) => typeof d[k] === "number" && Number.isFinite(d[k]);
  if (!num("bytes_done") || !num("bytes_total")) return null;
  return {
    bytes_done: d.bytes_done as number,
    bytes_total: d.bytes_total as number,
    bytes_per_second: num("bytes_per_second") ? (d.bytes_per_second as number) : 0,
    eta_seconds: num("eta_seconds") ? (d.eta_seconds as number) : null,
    current_file: typeof d.current_file === "string" ? d.current_file : null,
    files_done: num("files_done") ? (d.files_done as number) : 0,
    files_total: num("files_total") ? (d.files_total as number) : 0,
  };
}

/** Data of the `progress` event on the WebSocket channel `models/{id}/progress` (`mistudio.models.schemas.DownloadProgress`). */
export interface DownloadProgress extends HubDownloadProgress {
  model_id: string;
}

export function parseDownloadProgress(data: unknown): DownloadProgress | null {
  if (typeof data !== "object" || data === null) return null;
  const d = data as Record<string, unknown>;
  if (typeof d.model_id !== "string") return null;
  const bytes = parseHubDownloadProgress(d);
  return bytes && { model_id: d.model_id, ...bytes };
}
