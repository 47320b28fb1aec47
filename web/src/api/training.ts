/**
 * The REST calls and types of SAE training and of the SAEs it stores. Every type is derived from the generated
 * OpenAPI schema: REST types via the routes that return them, WebSocket payloads via its `WsChannels`.
 */
import { api, type ApiClient, type BodyOf, type ItemOf, type PageOf } from "./client";
import { eventOn, tagged, type ChannelPattern, type EventName, type Tagged, type WsMessage } from "./events";
import type { ExtractionPage } from "./extraction";
import { writtenIdOfJob } from "./resources";
import type { Job, Status } from "./types";

// --- types (from the schema) ----------------------------------------------------------------------------

export type Training = ItemOf<"/api/v1/trainings/{training_id}">;
export type TrainingPage = PageOf<"/api/v1/trainings">;
export type TrainingAccepted = ItemOf<"/api/v1/trainings", "post">;
export type TrainRequest = BodyOf<"/api/v1/trainings", "post">;
/** The model, tokenization and format a streamed run computes its activations with (no disk cache). */
export type StreamRequest = NonNullable<TrainRequest["stream"]>;
export type StreamFormat = NonNullable<StreamRequest["format"]>;
export type TrainingEstimate = ItemOf<"/api/v1/trainings/estimate", "post">;
export type SAEImportRequest = BodyOf<"/api/v1/saes/import", "post">;
export type SAESpec = NonNullable<TrainRequest["saes"]>[number];
export type SAEArchitecture = NonNullable<SAESpec["architecture"]>;
export type Schedule = NonNullable<SAESpec["schedule"]>;
export type MetricPoint = ItemOf<"/api/v1/trainings/{training_id}/metrics">[number];
export type Checkpoint = ItemOf<"/api/v1/trainings/{training_id}/checkpoints">[number];
export type Deleted = ItemOf<"/api/v1/trainings/{training_id}", "delete">;
export type SAE = ItemOf<"/api/v1/saes/{sae_id}">;
export type SAEPage = PageOf<"/api/v1/saes">;
/** One SAE's figures at one step, or at the end of a run (`holdout_*`, `model_*` once evaluated). */
export type MetricValues = Record<string, number>;

export const ARCHITECTURES = ["topk", "batchtopk", "matryoshka", "standard", "jumprelu", "gated"] as const satisfies readonly SAEArchitecture[];
export const SCHEDULES = ["constant", "cosine", "linear"] as const satisfies readonly Schedule[];
/** Architectures that keep the k largest latents per token (k is theirs; they take no sparsity coefficient). */
export const K_FAMILY = ["topk", "batchtopk", "matryoshka"] as const satisfies readonly SAEArchitecture[];
export const ARCHITECTURE_LABELS: Record<SAEArchitecture, string> = {
  topk: "TopK",
  batchtopk: "BatchTopK",
  matryoshka: "Matryoshka (BatchTopK)",
  standard: "ReLU + L1 (standard)",
  jumprelu: "JumpReLU (L0)",
  gated: "Gated (L1)",
};

export const isKFamily = (a: SAEArchitecture): boolean => (K_FAMILY as readonly string[]).includes(a);
/** Which penalty the sparsity coefficient weighs for `a` (null: it takes none, the k family). */
export function sparsityPenalty(a: SAEArchitecture): "L1" | "L0" | null {
  if (isKFamily(a)) return null;
  return a === "jumprelu" ? "L0" : "L1";
}

/** What one SAE of a run trains with, as far as the UI reads it from the row's untyped `members`. */
export interface MemberSummary {
  architecture: string;
  /** Where it reads (null in rows written before SAEs carried their own). */
  hookPoint: string | null;
  width: number | null;
  k: number | null;
  lr: number | null;
  sparsityCoefficient: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const record = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function memberSummary(member: Record<string, unknown>): MemberSummary {
  const config = record(member.config);
  const hyper = record(member.hyperparameters);
  return {
    architecture: typeof config.architecture === "string" ? config.architecture : "?",
    hookPoint: typeof config.hook_point === "string" ? config.hook_point : null,
    width: num(config.d_sae),
    k: num(config.k),
    lr: num(hyper.lr),
    sparsityCoefficient: num(hyper.sparsity_coefficient),
  };
}

/** The run's architecture in a few words: "topk", or "sweep ×3: topk" for several SAEs. */
export function describeArchitecture(t: Pick<Training, "members">): string {
  const archs = [...new Set(t.members.map((m) => memberSummary(m).architecture))];
  return t.members.length > 1 ? `sweep ×${t.members.length}: ${archs.join("+")}` : (archs[0] ?? "?");
}

/** The hook points a run's SAEs read, in order, once each (a run on several hook points shares one read). */
export function hookPointsOf(t: Pick<Training, "members" | "hook_point">): string[] {
  const points = t.members.map((m) => memberSummary(m).hookPoint ?? t.hook_point);
  return [...new Set(points.length ? points : [t.hook_point])];
}

/** The training a job produces (as its declared `writes` say), or null. */
export function trainingIdOfJob(job: Pick<Job, "writes">): string | null {
  return writtenIdOfJob(job, "training");
}

// --- WebSocket payloads ----------------------------------------------------------------------------------

export const trainingChannel = (id: string): string => `trainings/${id}`;
export const metricsChannel = (id: string): string => `trainings/${id}/metrics`;

/** The run of a status channel (`trainings/{id}`), else null (its metrics channel included). */
export function trainingIdOfChannel(channel: string): string | null {
  const m = /^trainings\/([^/]+)$/.exec(channel);
  return m ? m[1]! : null;
}

const METRICS_CHANNEL = "trainings/{training_id}/metrics" satisfies ChannelPattern;
const STATUS_CHANNEL = "trainings/{training_id}" satisfies ChannelPattern;
const METRICS_EVENTS = ["metrics"] as const satisfies readonly EventName<typeof METRICS_CHANNEL>[];
const STATUS_EVENTS = ["status"] as const satisfies readonly EventName<typeof STATUS_CHANNEL>[];

/** `metrics` on `trainings/{id}/metrics`: one step's figures, one entry per SAE of the run. */
export type TrainingMetricsEvent = Tagged<typeof METRICS_CHANNEL, (typeof METRICS_EVENTS)[number]>;
export type TrainingStatusEvent = Tagged<typeof STATUS_CHANNEL, (typeof STATUS_EVENTS)[number]>;

/** A message as a run's metrics event; null for anything else or data of another run. */
export function parseMetricsEvent(msg: WsMessage): TrainingMetricsEvent | null {
  const event = eventOn(METRICS_CHANNEL, METRICS_EVENTS, msg);
  return event && event.data.training_id === event.ids.training_id ? tagged<typeof METRICS_CHANNEL, "metrics">(event) : null;
}

/** A message as a run's status event; null for anything else or data of another run. */
export function parseStatusEvent(msg: WsMessage): TrainingStatusEvent | null {
  const event = eventOn(STATUS_CHANNEL, STATUS_EVENTS, msg);
  return event && event.data.training_id === event.ids.training_id ? tagged<typeof STATUS_CHANNEL, "status">(event) : null;
}

/** A metrics event as the points the REST metrics route would answer for it. */
export function pointsOfEvent(e: Pick<TrainingMetricsEvent, "step" | "members">): MetricPoint[] {
  return e.members.map((values, member) => ({ member, step: e.step, values }));
}

// --- REST ----------------------------------------------------------------------------------------------

export interface ListTrainingsQuery {
  model_id?: string;
  status?: Status;
  page?: number;
  limit?: number;
}

export function makeTrainingApi(client: ApiClient) {
  const path = (id: string) => ({ training_id: id });
  return {
    /** The completed extractions a run can train on, newest first. */
    completedExtractions: (signal?: AbortSignal): Promise<ExtractionPage> =>
      client.list("/api/v1/extractions", { query: { status: "completed", limit: 200 }, signal }),
    start: (body: TrainRequest): Promise<TrainingAccepted> => client.post("/api/v1/trainings", { body }),
    /** Memory and disk (counted) and time (a few real SAE steps timed in the model host); errors name the field. */
    estimate: (body: TrainRequest, signal?: AbortSignal): Promise<TrainingEstimate> => client.post("/api/v1/trainings/estimate", { body, signal }),
    list: (query: ListTrainingsQuery = {}, signal?: AbortSignal): Promise<TrainingPage> => client.list("/api/v1/trainings", { query, signal }),
    get: (id: string, signal?: AbortSignal): Promise<Training> => client.get("/api/v1/trainings/{training_id}", { path: path(id), signal }),
    metrics: (id: string, afterStep = -1, signal?: AbortSignal): Promise<MetricPoint[]> =>
      client.get("/api/v1/trainings/{training_id}/metrics", { path: path(id), query: { after_step: afterStep }, signal }),
    checkpoints: (id: string, signal?: AbortSignal): Promise<Checkpoint[]> =>
      client.get("/api/v1/trainings/{training_id}/checkpoints", { path: path(id), signal }),
    deleteCheckpoint: (id: string, step: number): Promise<Deleted> =>
      client.del("/api/v1/trainings/{training_id}/checkpoints/{step}", { path: { training_id: id, step } }),
    pause: (id: string): Promise<Training> => client.post("/api/v1/trainings/{training_id}/pause", { path: path(id) }),
    stop: (id: string): Promise<Training> => client.post("/api/v1/trainings/{training_id}/stop", { path: path(id) }),
    resume: (id: string): Promise<TrainingAccepted> => client.post("/api/v1/trainings/{training_id}/resume", { path: path(id) }),
    remove: (id: string): Promise<Deleted> => client.del("/api/v1/trainings/{training_id}", { path: path(id) }),
    listSaes: (query: { model_id?: string; training_id?: string; page?: number; limit?: number } = {}, signal?: AbortSignal): Promise<SAEPage> =>
      client.list("/api/v1/saes", { query, signal }),
    getSae: (id: string, signal?: AbortSignal): Promise<SAE> => client.get("/api/v1/saes/{sae_id}", { path: { sae_id: id }, signal }),
    /** Copy a SAELens or sparsify folder on the server's disk into the studio (no job: it answers the stored SAE). */
    importSae: (body: SAEImportRequest): Promise<SAE> => client.post("/api/v1/saes/import", { body }),
    removeSae: (id: string): Promise<Deleted> => client.del("/api/v1/saes/{sae_id}", { path: { sae_id: id } }),
  };
}

export type TrainingApi = ReturnType<typeof makeTrainingApi>;
export const trainingApi = makeTrainingApi(api);
