/**
 * The REST calls and types of activation extraction. Every type is derived from the generated OpenAPI schema:
 * REST types via the routes that return them, WebSocket payloads via its `WsChannels`.
 */
import { api, type ApiClient, type BodyOf, type ItemOf, type PageOf } from "./client";
import { eventOn, tagged, type ChannelPattern, type EventName, type Tagged, type WsMessage } from "./events";
import { writtenIdOfJob } from "./resources";
import type { Job } from "./types";

// --- types (from the schema) ----------------------------------------------------------------------------

export type Extraction = ItemOf<"/api/v1/extractions/{extraction_id}">;
export type ExtractionStatus = Extraction["status"];
export type ExtractionPage = PageOf<"/api/v1/models/{model_id}/extractions">;
export type ExtractionAccepted = ItemOf<"/api/v1/models/{model_id}/extract", "post">;
export type ExtractRequest = BodyOf<"/api/v1/models/{model_id}/extract", "post">;
export type HookType = ExtractRequest["hook_points"][number];
export type StorageDtype = NonNullable<ExtractRequest["dtype"]>;
export type ExtractionEstimate = ItemOf<"/api/v1/models/{model_id}/extract/estimate", "post">;
export type Calibration = NonNullable<ExtractionEstimate["calibration"]>;
export type ExtractionStatistics = ItemOf<"/api/v1/extractions/{extraction_id}/statistics">;
export type HookStatistics = ExtractionStatistics[string];
export type HookStatisticsSummary = NonNullable<Extraction["statistics"]>[string];
export type ExtractionDeleteResult = ItemOf<"/api/v1/extractions/{extraction_id}", "delete">;

export const HOOK_TYPES = ["resid_pre", "resid_post", "mlp_out", "attn_out"] as const satisfies readonly HookType[];
export const STORAGE_DTYPES = ["fp32", "fp16", "bf16"] as const satisfies readonly StorageDtype[];
/** What each hook type reads, in a few words (the architecture viewer has the per-family detail). */
export const HOOK_TYPE_LABELS: Record<HookType, string> = {
  resid_pre: "residual stream into the block",
  resid_post: "residual stream out of the block",
  mlp_out: "MLP output",
  attn_out: "attention output",
};
/** The extraction a job produces (as its declared `writes` say), or null for a job that produces none. */
export function extractionIdOfJob(job: Pick<Job, "writes">): string | null {
  return writtenIdOfJob(job, "extraction");
}

/** A histogram of activation values as bins: [start, end) with the count of values in it. */
export interface HistogramBin {
  start: number;
  end: number;
  count: number;
}

/** The `{edges, counts}` of a hook point's statistics as bins (empty when it is malformed or not yet known). */
export function histogramBins(histogram: Record<string, unknown> | null | undefined): HistogramBin[] {
  const edges = histogram?.edges;
  const counts = histogram?.counts;
  if (!Array.isArray(edges) || !Array.isArray(counts) || edges.length !== counts.length + 1) return [];
  if (![...edges, ...counts].every((v) => typeof v === "number" && Number.isFinite(v))) return [];
  return counts.map((count, i) => ({ start: edges[i] as number, end: edges[i + 1] as number, count: count as number }));
}

// --- WebSocket payloads (channel `extractions/{id}`) ---------------------------------------------------

export const extractionChannel = (id: string): string => `extractions/${id}`;

export function extractionIdOfChannel(channel: string): string | null {
  const m = /^extractions\/([^/]+)$/.exec(channel);
  return m ? m[1]! : null;
}

const EXTRACTION_CHANNEL = "extractions/{extraction_id}" satisfies ChannelPattern;
const EXTRACTION_EVENTS = ["progress", "status"] as const satisfies readonly EventName<typeof EXTRACTION_CHANNEL>[];

/** One event of an extraction's channel, its name as `kind`: `progress` (batches done so far) or `status` (the row changed; REST has the rest). */
export type ExtractionEvent = Tagged<typeof EXTRACTION_CHANNEL, (typeof EXTRACTION_EVENTS)[number]>;
export type ExtractionProgressEvent = Extract<ExtractionEvent, { kind: "progress" }>;
export type ExtractionStatusEvent = Extract<ExtractionEvent, { kind: "status" }>;

/** A message of an extraction channel as an extraction event; null for other channels, unknown events, or data of another extraction. */
export function parseExtractionEvent(msg: WsMessage): ExtractionEvent | null {
  const event = eventOn(EXTRACTION_CHANNEL, EXTRACTION_EVENTS, msg);
  return event && event.data.extraction_id === event.ids.extraction_id ? tagged(event) : null;
}

// --- REST ----------------------------------------------------------------------------------------------

export function makeExtractionApi(client: ApiClient) {
  const model = (id: string) => ({ model_id: id });
  const path = (id: string) => ({ extraction_id: id });
  return {
    estimate: (modelId: string, body: ExtractRequest, calibrate = true, signal?: AbortSignal): Promise<ExtractionEstimate> =>
      client.post("/api/v1/models/{model_id}/extract/estimate", { path: model(modelId), query: { calibrate }, body, signal }),
    start: (modelId: string, body: ExtractRequest): Promise<ExtractionAccepted> =>
      client.post("/api/v1/models/{model_id}/extract", { path: model(modelId), body }),
    listForModel: (modelId: string, query: { page?: number; limit?: number } = {}, signal?: AbortSignal): Promise<ExtractionPage> =>
      client.list("/api/v1/models/{model_id}/extractions", { path: model(modelId), query, signal }),
    get: (id: string, signal?: AbortSignal): Promise<Extraction> => client.get("/api/v1/extractions/{extraction_id}", { path: path(id), signal }),
    statistics: (id: string, signal?: AbortSignal): Promise<ExtractionStatistics> =>
      client.get("/api/v1/extractions/{extraction_id}/statistics", { path: path(id), signal }),
    cancel: (id: string): Promise<Extraction> => client.post("/api/v1/extractions/{extraction_id}/cancel", { path: path(id) }),
    resume: (id: string): Promise<ExtractionAccepted> => client.post("/api/v1/extractions/{extraction_id}/resume", { path: path(id) }),
    remove: (id: string): Promise<ExtractionDeleteResult> => client.del("/api/v1/extractions/{extraction_id}", { path: path(id) }),
  };
}

export type ExtractionApi = ReturnType<typeof makeExtractionApi>;
export const extractionApi = makeExtractionApi(api);
