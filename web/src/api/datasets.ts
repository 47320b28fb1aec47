/**
 * The REST calls and types of the Datasets section. Every type is derived from the generated OpenAPI
 * schema: REST types via the routes that return them, WebSocket payloads via its `WsChannels`.
 */
import { api, ApiError, errorFromBody, type ApiClient, type BodyOf, type ItemOf, type PageOf } from "./client";
import type { components } from "./schema";
import { eventOn, tagged, type ChannelPattern, type EventName, type Tagged, type WsMessage } from "./events";

// --- types (from the schema) ----------------------------------------------------------------------------

export type Dataset = ItemOf<"/api/v1/datasets/{dataset_id}">;
export type DatasetStatus = Dataset["status"];
export type DatasetSource = Dataset["source"];
export type DatasetPage = PageOf<"/api/v1/datasets">;
export type DatasetAccepted = ItemOf<"/api/v1/datasets/download", "post">;
export type DatasetPatch = BodyOf<"/api/v1/datasets/{dataset_id}", "patch">;
export type DatasetDeleteResult = ItemOf<"/api/v1/datasets/{dataset_id}", "delete">;
export type Tokenization = ItemOf<"/api/v1/datasets/{dataset_id}/tokenizations/{tokenization_id}">;
export type TokenizationStatus = Tokenization["status"];
export type TokenizationAccepted = ItemOf<"/api/v1/datasets/{dataset_id}/tokenize", "post">;
export type TokenizationStatistics = NonNullable<Tokenization["statistics"]>;
export type TokenizeSettings = Tokenization["settings"];
export type HubDatasetPreview = ItemOf<"/api/v1/datasets/preview", "post">;
export type HubPreviewRequest = BodyOf<"/api/v1/datasets/preview", "post">;
export type DatasetDownloadRequest = BodyOf<"/api/v1/datasets/download", "post">;
export type DatasetImportRequest = BodyOf<"/api/v1/datasets/import", "post">;
export type SourceFormat = NonNullable<DatasetImportRequest["format"]>;
export type TxtMode = NonNullable<DatasetImportRequest["txt_mode"]>;
export type ExampleInfo = ItemOf<"/api/v1/datasets/examples">[number];
export type ExampleName = ExampleInfo["name"];
export type TokenizeRequest = BodyOf<"/api/v1/datasets/{dataset_id}/tokenize", "post">;
export type TokenizePreviewRequest = BodyOf<"/api/v1/datasets/{dataset_id}/tokenize/preview", "post">;
export type TokenizePreview = ItemOf<"/api/v1/datasets/{dataset_id}/tokenize/preview", "post">;
export type TokenizedSample = TokenizePreview["samples"][number];
export type TokenInfo = TokenizedSample["tokens"][number];
export type Sample = SamplePage["items"][number];
export type SamplePage = PageOf<"/api/v1/datasets/{dataset_id}/samples">;
export type SampleDetail = ItemOf<"/api/v1/datasets/{dataset_id}/samples/{index}">;
/** The multipart form of POST /datasets/upload, without the files themselves. */
export type UploadFields = Omit<components["schemas"]["Body_upload_dataset_api_v1_datasets_upload_post"], "files">;

export const DATASET_SOURCES = ["hub", "import", "upload", "example"] as const satisfies readonly DatasetSource[];
export const SOURCE_FORMATS = ["txt", "jsonl", "csv", "parquet"] as const satisfies readonly SourceFormat[];
/** What the server uses when a setting is not given (TokenizeSettingsIn's defaults). */
export const DEFAULT_TOKENIZE_SETTINGS: TokenizeSettings = {
  max_length: 512,
  packing: false,
  bos_per_sequence: true,
  stride: 0,
  min_length: 1,
  add_special_tokens: true,
};

// --- WebSocket payloads (channel `datasets/{dataset_id}/progress`, typed from the schema) -------------------

const DATASET_CHANNEL = "datasets/{dataset_id}/progress" satisfies ChannelPattern;
const DATASET_EVENTS = ["download", "import", "tokenize", "ready", "tokenized"] as const satisfies readonly EventName<typeof DATASET_CHANNEL>[];

/** One event of a dataset's progress channel, its name as `kind`. */
export type DatasetEvent = Tagged<typeof DATASET_CHANNEL, (typeof DATASET_EVENTS)[number]>;
/** `download`: bytes of the hub's data files. */
export type DatasetDownloadEvent = Extract<DatasetEvent, { kind: "download" }>;
/** `import`: rows normalized so far. */
export type DatasetImportEvent = Extract<DatasetEvent, { kind: "import" }>;
/** `tokenize`: one tokenization's rows, sequences and tokens so far. */
export type TokenizeEvent = Extract<DatasetEvent, { kind: "tokenize" }>;

/** A message of a dataset progress channel as a dataset event; null for other channels, unknown events, or data of another dataset. */
export function parseDatasetEvent(msg: WsMessage): DatasetEvent | null {
  const event = eventOn(DATASET_CHANNEL, DATASET_EVENTS, msg);
  return event && event.data.dataset_id === event.ids.dataset_id ? tagged(event) : null;
}

// --- upload (XMLHttpRequest, for upload progress) ------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface UploadProgress {
  loaded: number;
  /** Bytes of the whole multipart body (null until the browser knows it). */
  total: number | null;
}

export interface UploadOptions {
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /** Base URL (tests); same origin by default. */
  baseUrl?: string;
  XMLHttpRequestImpl?: typeof XMLHttpRequest;
}

/**
 * POST the files as multipart/form-data to /api/v1/datasets/upload, reporting bytes sent. Resolves with
 * the accepted dataset; rejects with an ApiError carrying the server's message (413 for a body over the
 * upload limit), status 0 for a transport failure, or an AbortError DOMException when `signal` aborts.
 */
export function uploadDataset(files: readonly File[], fields: UploadFields, opts: UploadOptions = {}): Promise<DatasetAccepted> {
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  form.append("txt_mode", fields.txt_mode ?? "line");
  if (fields.format) form.append("format", fields.format);
  if (fields.text_column) form.append("text_column", fields.text_column);
  if (fields.name) form.append("name", fields.name);

  return new Promise<DatasetAccepted>((resolve, reject) => {
    const Impl = opts.XMLHttpRequestImpl ?? XMLHttpRequest;
    const xhr = new Impl();
    const abort = () => xhr.abort();
    if (opts.signal?.aborted) {
      reject(new DOMException("The upload was aborted.", "AbortError"));
      return;
    }
    opts.signal?.addEventListener("abort", abort, { once: true });
    const done = () => opts.signal?.removeEventListener("abort", abort);

    xhr.open("POST", `${opts.baseUrl ?? ""}/api/v1/datasets/upload`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e: ProgressEvent) => {
      opts.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : null });
    };
    xhr.onload = () => {
      done();
      const text = typeof xhr.responseText === "string" ? xhr.responseText : "";
      let body: unknown = text || null;
      try {
        if (text) body = JSON.parse(text);
      } catch {
        /* keep the text: errorFromBody shows it */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        if (isRecord(body) && "data" in body) resolve(body.data as DatasetAccepted);
        else reject(new ApiError(xhr.status, "bad_envelope", "The server answered without a data envelope.", body));
      } else {
        reject(errorFromBody(xhr.status, body, xhr.statusText));
      }
    };
    xhr.onerror = () => {
      done();
      reject(
        new ApiError(
          0,
          "network_error",
          "The upload did not reach the server, or the connection closed before it answered (a body over the upload limit can end this way).",
        ),
      );
    };
    xhr.onabort = () => {
      done();
      reject(new DOMException("The upload was aborted.", "AbortError"));
    };
    xhr.send(form);
  });
}

// --- REST ----------------------------------------------------------------------------------------------

export interface ListDatasetsQuery {
  status?: DatasetStatus;
  source?: DatasetSource;
  search?: string;
  page?: number;
  limit?: number;
}

export interface SamplesQuery {
  split?: string;
  search?: string;
  page?: number;
  limit?: number;
}

export function makeDatasetsApi(client: ApiClient) {
  const path = (id: string) => ({ dataset_id: id });
  return {
    preview: (body: HubPreviewRequest, signal?: AbortSignal): Promise<HubDatasetPreview> =>
      client.post("/api/v1/datasets/preview", { body, signal }),
    download: (body: DatasetDownloadRequest): Promise<DatasetAccepted> => client.post("/api/v1/datasets/download", { body }),
    importPath: (body: DatasetImportRequest): Promise<DatasetAccepted> => client.post("/api/v1/datasets/import", { body }),
    upload: uploadDataset,
    examples: (signal?: AbortSignal): Promise<ExampleInfo[]> => client.get("/api/v1/datasets/examples", { signal }),
    addExample: (name: ExampleName): Promise<DatasetAccepted> => client.post("/api/v1/datasets/examples", { body: { name } }),
    list: (query: ListDatasetsQuery = {}, signal?: AbortSignal): Promise<DatasetPage> =>
      client.list("/api/v1/datasets", { query, signal }),
    get: (id: string, signal?: AbortSignal): Promise<Dataset> =>
      client.get("/api/v1/datasets/{dataset_id}", { path: path(id), signal }),
    update: (id: string, body: DatasetPatch): Promise<Dataset> =>
      client.patch("/api/v1/datasets/{dataset_id}", { path: path(id), body }),
    remove: (id: string): Promise<DatasetDeleteResult> => client.del("/api/v1/datasets/{dataset_id}", { path: path(id) }),
    cancel: (id: string): Promise<Dataset> => client.post("/api/v1/datasets/{dataset_id}/cancel", { path: path(id) }),
    retry: (id: string, token?: string): Promise<DatasetAccepted> =>
      client.post("/api/v1/datasets/{dataset_id}/retry", { path: path(id), body: token ? { token } : null }),
    samples: (id: string, query: SamplesQuery = {}, signal?: AbortSignal): Promise<SamplePage> =>
      client.list("/api/v1/datasets/{dataset_id}/samples", { path: path(id), query, signal }),
    sample: (
      id: string,
      index: number,
      query: { split?: string; tokenization_id?: string } = {},
      signal?: AbortSignal,
    ): Promise<SampleDetail> =>
      client.get("/api/v1/datasets/{dataset_id}/samples/{index}", { path: { dataset_id: id, index }, query, signal }),
    previewTokenization: (id: string, body: TokenizePreviewRequest, signal?: AbortSignal): Promise<TokenizePreview> =>
      client.post("/api/v1/datasets/{dataset_id}/tokenize/preview", { path: path(id), body, signal }),
    tokenize: (id: string, body: TokenizeRequest): Promise<TokenizationAccepted> =>
      client.post("/api/v1/datasets/{dataset_id}/tokenize", { path: path(id), body }),
    tokenizations: (id: string, signal?: AbortSignal): Promise<Tokenization[]> =>
      client.get("/api/v1/datasets/{dataset_id}/tokenizations", { path: path(id), signal }),
    tokenization: (id: string, tokenizationId: string, signal?: AbortSignal): Promise<Tokenization> =>
      client.get("/api/v1/datasets/{dataset_id}/tokenizations/{tokenization_id}", {
        path: { dataset_id: id, tokenization_id: tokenizationId },
        signal,
      }),
    cancelTokenization: (id: string, tokenizationId: string): Promise<Tokenization> =>
      client.post("/api/v1/datasets/{dataset_id}/tokenizations/{tokenization_id}/cancel", {
        path: { dataset_id: id, tokenization_id: tokenizationId },
      }),
    deleteTokenization: (id: string, tokenizationId: string): Promise<DatasetDeleteResult> =>
      client.del("/api/v1/datasets/{dataset_id}/tokenizations/{tokenization_id}", {
        path: { dataset_id: id, tokenization_id: tokenizationId },
      }),
  };
}

export type DatasetsApi = ReturnType<typeof makeDatasetsApi>;
export const datasetsApi = makeDatasetsApi(api);
