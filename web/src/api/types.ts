/**
 * Domain types, all derived from the generated OpenAPI schema via the routes that return them.
 * (No hand-written copies of server models: regenerate with `npm run gen:api`.)
 */
import { isOneOf } from "../lib/oneOf";
import type { BodyOf, ItemOf, PageOf } from "./client";
import type { EventData } from "./events";

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

export type { WsMessage } from "./events";

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

/** Data of the `progress` event on the WebSocket channel `models/{model_id}/progress`. */
export type DownloadProgress = EventData<"models/{model_id}/progress", "progress">;
/** The figures of a Hub download, as model and dataset download events carry them. */
export type HubDownloadProgress = Omit<DownloadProgress, "model_id">;

// --- Generation (the model host) ---------------------------------------------------------------------

export type GenerateRequest = BodyOf<"/api/v1/models/{model_id}/generate", "post">;
export type GenerateAccepted = ItemOf<"/api/v1/models/{model_id}/generate", "post">;
export type GenerateStop = ItemOf<"/api/v1/models/{model_id}/generate/{request_id}", "delete">;
/** Data of `done` on `models/{model_id}/generate/{request_id}`: the whole text and how it was made. */
export type GenerateDone = EventData<"models/{model_id}/generate/{request_id}", "done">;
