/**
 * The REST calls and types of feature analysis: an SAE's analyses (start, follow, pause, resume, delete) and the
 * latents an analysis found (browse, detail, label/notes/favourite). Types come from the generated OpenAPI schema.
 */
import { api, type ApiClient, type BodyOf, type ItemOf, type PageOf } from "./client";
import { eventOn, tagged, type ChannelPattern, type EventName, type Tagged, type WsMessage } from "./events";
import { writtenIdOfJob } from "./resources";
import type { Job } from "./types";

export type Analysis = ItemOf<"/api/v1/analyses/{analysis_id}">;
export type AnalysisPage = PageOf<"/api/v1/saes/{sae_id}/analyses">;
export type AnalysisAccepted = ItemOf<"/api/v1/saes/{sae_id}/analyses", "post">;
export type AnalyzeRequest = BodyOf<"/api/v1/saes/{sae_id}/analyses", "post">;
export type Feature = PageOf<"/api/v1/analyses/{analysis_id}/features">["items"][number];
export type FeaturePage = PageOf<"/api/v1/analyses/{analysis_id}/features">;
export type FeatureDetail = ItemOf<"/api/v1/analyses/{analysis_id}/features/{latent}">;
export type FeatureExample = FeatureDetail["examples"][number];
export type FeatureUpdate = BodyOf<"/api/v1/analyses/{analysis_id}/features/{latent}", "patch">;
export type Deleted = ItemOf<"/api/v1/analyses/{analysis_id}", "delete">;
export type LabelRequest = BodyOf<"/api/v1/analyses/{analysis_id}/labels", "post">;
export type LabelJobAccepted = ItemOf<"/api/v1/analyses/{analysis_id}/labels", "post">;
export type ProbeRequest = BodyOf<"/api/v1/analyses/{analysis_id}/probe", "post">;
export type ProbeResult = ItemOf<"/api/v1/analyses/{analysis_id}/probe", "post">;
export const EXPORT_FORMATS = [
  { format: "csv", label: "CSV" },
  { format: "parquet", label: "Parquet" },
  { format: "neuronpedia", label: "Neuronpedia (zip)" },
] as const;

/** Where the browser downloads the analysis as CSV, Parquet or a Neuronpedia upload (a plain link: the server names the file). */
export function exportHref(analysisId: string, format: (typeof EXPORT_FORMATS)[number]["format"]): string {
  return `/api/v1/analyses/${encodeURIComponent(analysisId)}/export?format=${format}`;
}
/** What the browser's list route takes (sort, order, filters, search, page). */
export type FeatureQuery = NonNullable<NonNullable<paramsOf<"/api/v1/analyses/{analysis_id}/features">>["query"]>;
export type SortField = NonNullable<FeatureQuery["sort"]>;

type paramsOf<P extends "/api/v1/analyses/{analysis_id}/features"> = import("./schema").paths[P]["get"]["parameters"];

export const SORT_FIELDS = ["index", "frequency", "max_activation", "mean_activation", "label_score"] as const satisfies readonly SortField[];
export const SORT_LABELS: Record<SortField, string> = {
  index: "Index",
  frequency: "Frequency",
  max_activation: "Max activation",
  mean_activation: "Mean activation",
  label_score: "Label score",
};

/** The analysis a job produces (as its declared `writes` say), or null. */
export function analysisIdOfJob(job: Pick<Job, "writes">): string | null {
  return writtenIdOfJob(job, "feature_analysis");
}

// --- WebSocket payloads ----------------------------------------------------------------------------------

export const analysisChannel = (id: string): string => `feature-analyses/${id}`;
const CHANNEL = "feature-analyses/{analysis_id}" satisfies ChannelPattern;
const EVENTS = ["progress", "status"] as const satisfies readonly EventName<typeof CHANNEL>[];
export type AnalysisEvent = Tagged<typeof CHANNEL, (typeof EVENTS)[number]>;

/** A message as an analysis' progress or status event; null for anything else or data of another analysis. */
export function parseAnalysisEvent(msg: WsMessage): AnalysisEvent | null {
  const event = eventOn(CHANNEL, EVENTS, msg);
  if (!event || event.data.analysis_id !== event.ids.analysis_id) return null;
  return tagged(event);
}

// --- REST ----------------------------------------------------------------------------------------------

export function makeFeaturesApi(client: ApiClient) {
  const path = (id: string) => ({ analysis_id: id });
  return {
    start: (saeId: string, body: AnalyzeRequest): Promise<AnalysisAccepted> =>
      client.post("/api/v1/saes/{sae_id}/analyses", { path: { sae_id: saeId }, body }),
    list: (saeId: string, signal?: AbortSignal): Promise<AnalysisPage> =>
      client.list("/api/v1/saes/{sae_id}/analyses", { path: { sae_id: saeId }, query: { limit: 200 }, signal }),
    get: (id: string, signal?: AbortSignal): Promise<Analysis> => client.get("/api/v1/analyses/{analysis_id}", { path: path(id), signal }),
    pause: (id: string): Promise<Analysis> => client.post("/api/v1/analyses/{analysis_id}/pause", { path: path(id) }),
    resume: (id: string): Promise<AnalysisAccepted> => client.post("/api/v1/analyses/{analysis_id}/resume", { path: path(id) }),
    remove: (id: string): Promise<Deleted> => client.del("/api/v1/analyses/{analysis_id}", { path: path(id) }),
    features: (id: string, query: FeatureQuery, signal?: AbortSignal): Promise<FeaturePage> =>
      client.list("/api/v1/analyses/{analysis_id}/features", { path: path(id), query, signal }),
    feature: (id: string, latent: number, signal?: AbortSignal): Promise<FeatureDetail> =>
      client.get("/api/v1/analyses/{analysis_id}/features/{latent}", { path: { analysis_id: id, latent }, signal }),
    update: (id: string, latent: number, body: FeatureUpdate): Promise<Feature> =>
      client.patch("/api/v1/analyses/{analysis_id}/features/{latent}", { path: { analysis_id: id, latent }, body }),
    /** Queue a job that labels latents with an LLM and scores each label (follow and cancel it as a job). */
    label: (id: string, body: LabelRequest): Promise<LabelJobAccepted> =>
      client.post("/api/v1/analyses/{analysis_id}/labels", { path: path(id), body }),
    /** Your own text through the model host: the latent's activation on each token and the text's top latents. */
    probe: (id: string, body: ProbeRequest, signal?: AbortSignal): Promise<ProbeResult> =>
      client.post("/api/v1/analyses/{analysis_id}/probe", { path: path(id), body, signal }),
  };
}

export type FeaturesApi = ReturnType<typeof makeFeaturesApi>;
export const featuresApi = makeFeaturesApi(api);
