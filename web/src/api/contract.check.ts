/**
 * Compile-time checks that the generated schema (from the backend's openapi.json) still has what
 * the shell relies on. Never imported; `npm run typecheck` fails here first if the contract drifts.
 */
import type {
  Architecture,
  DeleteResult,
  DownloadProgress,
  FitLevel,
  FormatEstimate,
  Health,
  Job,
  JobPage,
  JobStatus,
  Model,
  ModelAccepted,
  ModelComparison,
  ModelFormat,
  ModelStatus,
  Pagination,
  Preview,
  Status,
  Variant,
  VariantStatus,
} from "./types";
import type { STATUSES } from "./types";
import type { Dataset, DatasetStatus, TokenizationStatus } from "./datasets";
import type { Extraction, ExtractionStatus } from "./extraction";
import { api } from "./client";
import type { ChannelPattern, EventData, EventName } from "./events";

type Expect<T extends true> = T;
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
// T[K] is usable as V (what the UI consumes).
type Has<T, K extends PropertyKey, V> = K extends keyof T ? ([T[K]] extends [V] ? true : false) : false;

export type JobContract = [
  Expect<Has<Job, "id", string>>,
  Expect<Has<Job, "kind", string>>,
  Expect<Has<Job, "progress", number>>,
  Expect<Has<Job, "message", string | null>>,
  Expect<Has<Job, "error", string | null>>,
  Expect<Has<Job, "cancel_requested", boolean>>,
  Expect<Has<Job, "created_at", string>>,
  Expect<Has<Job, "started_at", string | null>>,
  Expect<Has<Job, "finished_at", string | null>>,
  Expect<Equal<JobStatus, "queued" | "running" | "completed" | "failed" | "cancelled" | "interrupted">>,
  Expect<Has<Job, "active", boolean>>,
  Expect<Has<Job, "writes", { type: string; id: string }[]>>,
  Expect<Has<Job, "reads", { type: string; id: string }[]>>,
];

// One vocabulary for jobs and every row a job produces; the filters' list is exactly it.
type Lifecycle = { status: Status; message: string | null; progress: number; job_id: string | null; active: boolean; resumable: boolean; retryable: boolean; ready: boolean };
export type LifecycleContract = [
  Expect<Equal<(typeof STATUSES)[number], Status>>,
  Expect<Equal<ModelStatus, Status>>,
  Expect<Equal<VariantStatus, Status>>,
  Expect<Equal<DatasetStatus, Status>>,
  Expect<Equal<TokenizationStatus, Status>>,
  Expect<Equal<ExtractionStatus, Status>>,
  Expect<Equal<Pick<Model, keyof Lifecycle>, Lifecycle>>,
  Expect<Equal<Pick<Variant, keyof Lifecycle>, Lifecycle>>,
  Expect<Equal<Pick<Dataset, keyof Lifecycle>, Lifecycle>>,
  Expect<Equal<Pick<Extraction, keyof Lifecycle>, Lifecycle>>,
];

export type HealthContract = [
  Expect<Equal<Health["status"], "ok" | "degraded">>,
  Expect<Has<Health["database"], "ok", boolean>>,
  Expect<Has<Health["database"], "dialect", string>>,
  Expect<Has<Health["runner"], "mode", string>>,
  Expect<Has<Health["redis"], "ok", boolean | null>>,
  Expect<Has<Health["disk"], "free_bytes", number>>,
  Expect<Equal<Health["device"]["kind"], "cpu" | "cuda">>,
  Expect<Has<Health["device"], "memory_total_bytes", number | null>>,
];

export type PageContract = [
  Expect<Equal<JobPage["items"], Job[]>>,
  Expect<Has<Pagination, "page", number>>,
  Expect<Has<Pagination, "limit", number>>,
  Expect<Has<Pagination, "total", number>>,
];

export type ModelContract = [
  Expect<Equal<ModelFormat, "fp32" | "fp16" | "bf16" | "q8" | "q4" | "q2">>,
  Expect<Equal<FitLevel, "green" | "yellow" | "red">>,
  Expect<Has<Model, "size_bytes", number>>,
  Expect<Has<Model, "parameter_count", number | null>>,
  Expect<Has<Model, "incompatible_reason", string | null>>,
  Expect<Has<Model, "job_id", string | null>>,
  Expect<Has<Model, "variants", Variant[]>>,
  Expect<Has<ModelAccepted, "job_id", string>>,
  Expect<Has<Variant, "footprint_bytes", number | null>>,
  Expect<Has<Variant, "estimate_bytes", number | null>>,
  Expect<Has<Variant, "placement", Record<string, unknown> | null>>,
  Expect<Has<Preview, "formats", FormatEstimate[]>>,
  Expect<Has<Preview, "download_bytes", number>>,
  Expect<Has<FormatEstimate, "unavailable_reason", string | null | undefined>>,
  Expect<Has<Architecture["layers"][number], "hook_points", string[]>>,
  Expect<Has<Architecture, "config", Record<string, unknown>>>,
  Expect<Has<DeleteResult, "bytes_freed", number>>,
  Expect<Has<ModelComparison["hook_points"], "only_a", string[]>>,
];

// The live events the stores follow are declared by the server, and a job event is the job's REST body.
export type EventContract = [
  Expect<Equal<EventData<"jobs", "job.updated">, Job>>,
  Expect<Equal<EventData<"jobs/{job_id}", "job.updated">, Job>>,
  Expect<Has<DownloadProgress, "model_id", string>>,
  Expect<Has<DownloadProgress, "eta_seconds", number | null>>,
  Expect<Equal<EventName<"datasets/{dataset_id}/progress">, "download" | "import" | "ready" | "tokenize" | "tokenized">>,
  Expect<Equal<EventName<"extractions/{extraction_id}">, "progress" | "status">>,
  Expect<Equal<EventName<"system">, "subscribed" | "unsubscribed" | "error" | "resync">>,
  Expect<"models/{model_id}/progress" extends ChannelPattern ? true : false>,
];

// The typed client refuses calls that don't match the schema.
export function clientContract() {
  // @ts-expect-error path parameters are required
  void api.get("/api/v1/jobs/{job_id}");
  // @ts-expect-error query parameters are typed
  void api.list("/api/v1/jobs", { query: { page: "x" } });
  // @ts-expect-error cancel is POST-only
  void api.get("/api/v1/jobs/{job_id}/cancel", { path: { job_id: "x" } });
  // @ts-expect-error a download needs a repo id
  void api.post("/api/v1/models/download", { body: { trust_remote_code: false } });
  // @ts-expect-error formats are a closed set
  void api.post("/api/v1/models/{model_id}/variants", { path: { model_id: "x" }, body: { format: "int3" } });
}
