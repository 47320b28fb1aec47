/**
 * Domain types, all derived from the generated OpenAPI schema via the routes that return them.
 * (No hand-written copies of server models: regenerate with `npm run gen:api`.)
 */
import type { BodyOf, ItemOf, PageOf } from "./client";
import type { EventData } from "./events";

export type Health = ItemOf<"/api/v1/health">;
export type Job = ItemOf<"/api/v1/jobs/{job_id}">;
/**
 * The one lifecycle vocabulary: a job and every row a job produces (model, variant, dataset, tokenization,
 * extraction) share it. What a status means (active, resumable, retryable, ready) the server says in flags.
 */
export type Status = Job["status"];
export type JobStatus = Status;
export type JobPage = PageOf<"/api/v1/jobs">;
export type Pagination = JobPage["pagination"];

/** Every status in display order, for the status filters (contract.check.ts keeps it equal to the schema's). */
export const STATUSES = ["queued", "running", "completed", "failed", "cancelled", "interrupted"] as const satisfies readonly Status[];

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

/** What a model's badge says: its lifecycle status, or "incompatible" for files that arrived but cannot be loaded. */
export const modelStatusLabel = (m: Pick<Model, "status" | "incompatible_reason">): Status | "incompatible" =>
  m.status === "completed" && m.incompatible_reason ? "incompatible" : m.status;

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
