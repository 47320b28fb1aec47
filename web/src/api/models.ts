/** The REST calls of the Models section (paths and bodies are checked against the generated schema). */
import { api, type ApiClient } from "./client";
import type {
  Architecture,
  DeleteResult,
  DownloadRequest,
  FormatsInfo,
  GenerateAccepted,
  GenerateRequest,
  GenerateStop,
  ImportRequest,
  Model,
  ModelAccepted,
  ModelComparison,
  ModelFormat,
  ModelPage,
  ModelPatch,
  ModelStatus,
  Preview,
  PreviewRequest,
  QuantizeRequest,
  VariantAccepted,
} from "./types";

export interface ListModelsQuery {
  status?: ModelStatus;
  /** true: only models that can be used (completed and compatible). */
  ready?: boolean;
  family?: string;
  format?: ModelFormat;
  search?: string;
  page?: number;
  limit?: number;
}

export function makeModelsApi(client: ApiClient) {
  return {
    preview: (body: PreviewRequest, signal?: AbortSignal): Promise<Preview> =>
      client.post("/api/v1/models/preview", { body, signal }),
    download: (body: DownloadRequest): Promise<ModelAccepted> => client.post("/api/v1/models/download", { body }),
    importModel: (body: ImportRequest): Promise<ModelAccepted> => client.post("/api/v1/models/import", { body }),
    list: (query: ListModelsQuery = {}, signal?: AbortSignal): Promise<ModelPage> =>
      client.list("/api/v1/models", { query, signal }),
    get: (id: string, signal?: AbortSignal): Promise<Model> =>
      client.get("/api/v1/models/{model_id}", { path: { model_id: id }, signal }),
    update: (id: string, body: ModelPatch): Promise<Model> =>
      client.patch("/api/v1/models/{model_id}", { path: { model_id: id }, body }),
    remove: (id: string): Promise<DeleteResult> => client.del("/api/v1/models/{model_id}", { path: { model_id: id } }),
    cancelDownload: (id: string): Promise<Model> =>
      client.del("/api/v1/models/{model_id}/download", { path: { model_id: id } }),
    retry: (id: string, token?: string): Promise<ModelAccepted> =>
      client.post("/api/v1/models/{model_id}/retry", { path: { model_id: id }, body: token ? { token } : null }),
    architecture: (id: string, signal?: AbortSignal): Promise<Architecture> =>
      client.get("/api/v1/models/{model_id}/architecture", { path: { model_id: id }, signal }),
    formats: (id: string, query: { device?: string; budget_gb?: number } = {}, signal?: AbortSignal): Promise<FormatsInfo> =>
      client.get("/api/v1/models/{model_id}/formats", { path: { model_id: id }, query, signal }),
    quantize: (id: string, body: QuantizeRequest): Promise<VariantAccepted> =>
      client.post("/api/v1/models/{model_id}/variants", { path: { model_id: id }, body }),
    deleteVariant: (id: string, variantId: string): Promise<DeleteResult> =>
      client.del("/api/v1/models/{model_id}/variants/{variant_id}", { path: { model_id: id, variant_id: variantId } }),
    compare: (a: string, b: string, signal?: AbortSignal): Promise<ModelComparison> =>
      client.get("/api/v1/models/compare", { query: { a, b }, signal }),
    /** Starts a generation in the model host; its tokens stream on the returned channel. */
    generate: (id: string, body: GenerateRequest): Promise<GenerateAccepted> =>
      client.post("/api/v1/models/{model_id}/generate", { path: { model_id: id }, body }),
    stopGeneration: (id: string, requestId: string): Promise<GenerateStop> =>
      client.del("/api/v1/models/{model_id}/generate/{request_id}", { path: { model_id: id, request_id: requestId } }),
  };
}

export const modelsApi = makeModelsApi(api);
