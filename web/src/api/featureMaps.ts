/**
 * The REST calls of feature maps: queue a 2-D layout of an analysis' decoder directions (a job), read a computed map
 * as columns (entry i is latent i), and the correlation heatmap of chosen latents. Types from the OpenAPI schema.
 */
import { api, type ApiClient, type BodyOf, type ItemOf } from "./client";

export type MapRequest = BodyOf<"/api/v1/analyses/{analysis_id}/maps", "post">;
export type MapAccepted = ItemOf<"/api/v1/analyses/{analysis_id}/maps", "post">;
export type FeatureMap = ItemOf<"/api/v1/analyses/{analysis_id}/maps/{method}">;
export type MapMethod = FeatureMap["method"];
export type Correlations = ItemOf<"/api/v1/analyses/{analysis_id}/correlations">;

export const MAP_METHODS = [
  { value: "pca", label: "PCA" },
  { value: "umap", label: "UMAP" },
  { value: "tsne", label: "t-SNE" },
] as const satisfies readonly { value: MapMethod; label: string }[];
/** The server's cap on a heatmap's latents. */
export const MAX_HEATMAP_LATENTS = 64;

export function makeFeatureMapsApi(client: ApiClient) {
  return {
    /** Queue the layout job; follow and cancel it as a job. */
    start: (analysisId: string, body: MapRequest): Promise<MapAccepted> =>
      client.post("/api/v1/analyses/{analysis_id}/maps", { path: { analysis_id: analysisId }, body }),
    /** A computed map (404 until its job completed). */
    get: (analysisId: string, method: MapMethod, signal?: AbortSignal): Promise<FeatureMap> =>
      client.get("/api/v1/analyses/{analysis_id}/maps/{method}", { path: { analysis_id: analysisId, method }, signal }),
    correlations: (analysisId: string, latents: number[], signal?: AbortSignal): Promise<Correlations> =>
      client.get("/api/v1/analyses/{analysis_id}/correlations", {
        path: { analysis_id: analysisId },
        query: { latents: latents.join(",") },
        signal,
      }),
  };
}

export const featureMapsApi = makeFeatureMapsApi(api);
