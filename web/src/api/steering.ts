/**
 * The REST calls and types of Steering (compare, sweep, directions, presets, history). Every type is derived from
 * the generated OpenAPI schema, the live events via its `WsChannels` (`steering/{request_id}`); the feature picker
 * uses `features.ts` for analyses and latents.
 */
import { api, type ApiClient, type BodyOf, type ItemOf, type PageOf } from "./client";
import { eventOn, type ChannelEvent, type WsMessage } from "./events";

// --- types (from the schema) ----------------------------------------------------------------------------

export type CompareRequest = BodyOf<"/api/v1/steering/compare", "post">;
export type CompareResult = ItemOf<"/api/v1/steering/compare", "post">;
export type SweepRequest = BodyOf<"/api/v1/steering/sweep", "post">;
export type SweepResult = ItemOf<"/api/v1/steering/sweep", "post">;
export type SweepPoint = SweepResult["points"][number];
export type Intervention = SweepRequest["intervention"];
export type InterventionMode = NonNullable<Intervention["mode"]>;
export type InterventionUnit = NonNullable<Intervention["unit"]>;
export type Positions = NonNullable<Intervention["positions"]>;
export type SteeringMetrics = CompareResult["metrics"];
export type RunResult = CompareResult["baseline"];
export type Experiment = ItemOf<"/api/v1/steering/experiments/{experiment_id}">;
export type ExperimentPage = PageOf<"/api/v1/steering/experiments">;
export type Direction = ItemOf<"/api/v1/steering/directions/{direction_id}">;
export type DirectionPage = PageOf<"/api/v1/steering/directions">;
export type DirectionRequest = BodyOf<"/api/v1/steering/directions", "post">;
export type ControlVectorImportRequest = BodyOf<"/api/v1/steering/directions/import", "post">;
export type Preset = ItemOf<"/api/v1/steering/presets/{preset_id}">;
export type PresetPage = PageOf<"/api/v1/steering/presets">;
export type PresetRequest = BodyOf<"/api/v1/steering/presets", "post">;
export type Deleted = ItemOf<"/api/v1/steering/presets/{preset_id}", "delete">;

export const MODES = ["add", "clamp", "ablate"] as const satisfies readonly InterventionMode[];

// --- live events -----------------------------------------------------------------------------------------

export const STEERING_CHANNEL = "steering/{request_id}" as const;
const STEERING_EVENTS = ["token", "done", "error"] as const;
export type SteeringEvent = ChannelEvent<typeof STEERING_CHANNEL, (typeof STEERING_EVENTS)[number]>;

export const steeringChannel = (requestId: string): string => `steering/${requestId}`;

/** A message as an event of the steering request `requestId`; null for anything else. */
export function parseSteeringEvent(msg: WsMessage, requestId: string): SteeringEvent | null {
  const event = eventOn(STEERING_CHANNEL, STEERING_EVENTS, msg);
  return event && event.ids.request_id === requestId ? event : null;
}

/** A request id made here, so the channel is subscribed before the server can send its first token. */
export function newRequestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- REST ----------------------------------------------------------------------------------------------

export function makeSteeringApi(client: ApiClient) {
  return {
    /** Baseline and steered in the model host; answers when both are done (tokens stream meanwhile). */
    compare: (body: CompareRequest): Promise<CompareResult> => client.post("/api/v1/steering/compare", { body }),
    sweep: (body: SweepRequest): Promise<SweepResult> => client.post("/api/v1/steering/sweep", { body }),
    stop: (requestId: string) =>
      client.del("/api/v1/steering/requests/{request_id}", { path: { request_id: requestId } }),
    experiments: (query: { model_id?: string; kind?: "compare" | "sweep"; page?: number; limit?: number } = {},
      signal?: AbortSignal): Promise<ExperimentPage> => client.list("/api/v1/steering/experiments", { query, signal }),
    experiment: (id: string, signal?: AbortSignal): Promise<Experiment> =>
      client.get("/api/v1/steering/experiments/{experiment_id}", { path: { experiment_id: id }, signal }),
    deleteExperiment: (id: string): Promise<Deleted> =>
      client.del("/api/v1/steering/experiments/{experiment_id}", { path: { experiment_id: id } }),
    directions: (query: { model_id?: string; limit?: number } = {}, signal?: AbortSignal): Promise<DirectionPage> =>
      client.list("/api/v1/steering/directions", { query, signal }),
    createDirection: (body: DirectionRequest): Promise<Direction> => client.post("/api/v1/steering/directions", { body }),
    deleteDirection: (id: string): Promise<Deleted> =>
      client.del("/api/v1/steering/directions/{direction_id}", { path: { direction_id: id } }),
    /** A llama.cpp control-vector GGUF on the server's disk: one saved direction per layer it holds. */
    importControlVector: (body: ControlVectorImportRequest): Promise<Direction[]> =>
      client.post("/api/v1/steering/directions/import", { body }),
    controlVectorUrl: (id: string): string => `/api/v1/steering/directions/${encodeURIComponent(id)}/control-vector`,
    presets: (signal?: AbortSignal): Promise<PresetPage> =>
      client.list("/api/v1/steering/presets", { query: { limit: 200 }, signal }),
    createPreset: (body: PresetRequest): Promise<Preset> => client.post("/api/v1/steering/presets", { body }),
    deletePreset: (id: string): Promise<Deleted> =>
      client.del("/api/v1/steering/presets/{preset_id}", { path: { preset_id: id } }),
  };
}

export type SteeringApi = ReturnType<typeof makeSteeringApi>;
export const steeringApi = makeSteeringApi(api);
