/**
 * Typed fetch client for the miStudio REST API.
 *
 * Every type here is derived from the generated OpenAPI schema (`schema.d.ts`, produced by
 * `npm run gen:api` from the backend's `openapi.json`); nothing duplicates the server's models.
 *
 * Envelopes: `{"data": ...}` for one item, `{"data": [...], "pagination": {...}}` for lists and
 * `{"error": {"code", "message", "details"}}` for errors. Successful bodies are unwrapped;
 * error bodies (and network failures) are thrown as `ApiError`.
 */
import type { paths } from "./schema";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** Paths of the API that define the given method. */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P] extends Record<M, infer O> ? ([O] extends [undefined] ? never : P) : never;
}[keyof paths];

type Operation<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M & keyof paths[P]]>;

type SuccessCode = 200 | 201 | 202 | "200" | "201" | "202";
type JsonContent<R> = R extends { content: { "application/json": infer B } } ? B : never;
type ResponsesOf<O> = O extends { responses: infer R } ? R : never;

/** JSON body of the success response (2xx) of an operation — the full envelope. */
export type SuccessBody<P extends keyof paths, M extends HttpMethod> = {
  [K in keyof ResponsesOf<Operation<P, M>>]: K extends SuccessCode ? JsonContent<ResponsesOf<Operation<P, M>>[K]> : never;
}[keyof ResponsesOf<Operation<P, M>>];

/** The `data` member of an item envelope. */
export type ItemOf<P extends keyof paths, M extends HttpMethod = "get"> =
  SuccessBody<P, M> extends { data: infer D } ? D : SuccessBody<P, M>;

/** A list envelope, renamed: `{items, pagination}`. */
export type PageOf<P extends keyof paths, M extends HttpMethod = "get"> =
  SuccessBody<P, M> extends { data: (infer I)[]; pagination: infer G } ? { items: I[]; pagination: G } : never;

/** JSON request body of an operation (e.g. `BodyOf<"/api/v1/models/download", "post">`). */
export type BodyOf<P extends keyof paths, M extends HttpMethod> =
  Operation<P, M> extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;

type ParamsOf<O> = O extends { parameters: infer X } ? X : Record<string, never>;
type PathOption<O> = ParamsOf<O> extends { path: infer T } ? { path: T } : { path?: undefined };
type QueryOption<O> = ParamsOf<O> extends { query: infer T }
  ? { query: T }
  : ParamsOf<O> extends { query?: infer T }
    ? { query?: T }
    : { query?: undefined };
type BodyOption<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? { body: B }
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? { body?: B }
    : { body?: undefined };

export type RequestOptions<O> = PathOption<O> & QueryOption<O> & BodyOption<O> & { signal?: AbortSignal };
type OptionsArg<P extends keyof paths, M extends HttpMethod> =
  Record<string, never> extends RequestOptions<Operation<P, M>>
    ? [options?: RequestOptions<Operation<P, M>>]
    : [options: RequestOptions<Operation<P, M>>];

/** An error reported by the API (error envelope), or a transport failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** An error as a form shows it inline: the server's message and the HTTP status. */
export function messageOf(e: unknown): string {
  if (isApiError(e)) return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The request field a server error names, as the server spells it: `details.field` of a 400, or the `field` of a
 * 422's first problem (`body.top_k`, prefix kept); null when it names none.
 */
export function fieldOfApiError(e: unknown): string | null {
  if (!isApiError(e)) return null;
  const details = e.details;
  let raw: unknown = null;
  if (isRecord(details)) raw = details.field;
  else if (Array.isArray(details) && isRecord(details[0])) raw = details[0].field;
  return typeof raw === "string" ? raw : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Build an ApiError from an HTTP error response body (envelope, FastAPI default, or text). */
export function errorFromBody(status: number, body: unknown, statusText = ""): ApiError {
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    const code = typeof e.code === "string" ? e.code : `http_${status}`;
    const message = typeof e.message === "string" && e.message ? e.message : statusText || `HTTP ${status}`;
    return new ApiError(status, code, message, e.details ?? null);
  }
  // FastAPI/Starlette defaults, should an error escape the envelope handler.
  if (isRecord(body) && "detail" in body) {
    const d = body.detail;
    if (typeof d === "string") return new ApiError(status, `http_${status}`, d, null);
    if (Array.isArray(d) && d.length > 0 && isRecord(d[0]) && typeof d[0].msg === "string") {
      return new ApiError(status, "validation_error", d[0].msg, d);
    }
    return new ApiError(status, `http_${status}`, statusText || `HTTP ${status}`, d);
  }
  if (typeof body === "string" && body.trim()) {
    return new ApiError(status, `http_${status}`, body.trim().slice(0, 500), null);
  }
  return new ApiError(status, `http_${status}`, statusText || `HTTP ${status}`, null);
}

/** `{"data": x}` → x, `{"data": [...], "pagination": p}` → `{items, pagination}` (see `unwrapList`). */
export function unwrapItem<T>(body: unknown): T {
  if (isRecord(body) && "data" in body) return body.data as T;
  throw new ApiError(200, "bad_envelope", "The server answered without a data envelope.", body);
}

export function unwrapList<T, G>(body: unknown): { items: T[]; pagination: G } {
  if (isRecord(body) && Array.isArray(body.data)) {
    return { items: body.data as T[], pagination: (body.pagination ?? null) as G };
  }
  throw new ApiError(200, "bad_envelope", "The server answered without a list envelope.", body);
}

export function buildUrl(
  path: string,
  pathParams?: Record<string, unknown> | null,
  query?: Record<string, unknown> | null,
): string {
  let url = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = pathParams?.[name];
    if (v === undefined || v === null) throw new Error(`missing path parameter "${name}" for ${path}`);
    return encodeURIComponent(String(v));
  });
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const x of v) qs.append(k, String(x));
      else qs.append(k, String(v));
    }
    const s = qs.toString();
    if (s) url += `?${s}`;
  }
  return url;
}

export interface ClientConfig {
  baseUrl?: string;
  fetch?: typeof fetch;
}

export function createClient(config: ClientConfig = {}) {
  const baseUrl = config.baseUrl ?? "";
  const doFetch = (input: string, init: RequestInit) => (config.fetch ?? globalThis.fetch)(input, init);

  async function request<P extends keyof paths, M extends HttpMethod>(
    method: M,
    path: P,
    options?: { path?: unknown; query?: unknown; body?: unknown; signal?: AbortSignal },
  ): Promise<SuccessBody<P, M>> {
    const url =
      baseUrl +
      buildUrl(
        path as string,
        options?.path as Record<string, unknown> | undefined,
        options?.query as Record<string, unknown> | undefined,
      );
    const init: RequestInit = { method: method.toUpperCase(), headers: { Accept: "application/json" } };
    if (options?.signal) init.signal = options.signal;
    if (options?.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { ...init.headers, "Content-Type": "application/json" };
    }
    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new ApiError(0, "network_error", `Cannot reach the miStudio server (${why}).`, null);
    }
    const text = res.status === 204 ? "" : await res.text();
    let body: unknown = text;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        if (res.ok) throw new ApiError(res.status, "bad_response", "The server answered with invalid JSON.", text);
      }
    } else {
      body = null;
    }
    if (!res.ok) throw errorFromBody(res.status, body, res.statusText);
    return body as SuccessBody<P, M>;
  }

  return {
    /** The raw success body (the envelope), typed. */
    request,
    /** GET one item: `{"data": x}` → x. */
    async get<P extends PathsWith<"get">>(path: P, ...[options]: OptionsArg<P, "get">): Promise<ItemOf<P, "get">> {
      return unwrapItem<ItemOf<P, "get">>(await request("get", path, options));
    },
    /** GET a page: `{"data": [...], "pagination": p}` → `{items, pagination}`. */
    async list<P extends PathsWith<"get">>(path: P, ...[options]: OptionsArg<P, "get">): Promise<PageOf<P, "get">> {
      const page = unwrapList(await request("get", path, options));
      return page as PageOf<P, "get">;
    },
    /** POST: `{"data": x}` → x (also for 202 `{"data": {..., "job_id"}}`). */
    async post<P extends PathsWith<"post">>(path: P, ...[options]: OptionsArg<P, "post">): Promise<ItemOf<P, "post">> {
      return unwrapItem<ItemOf<P, "post">>(await request("post", path, options));
    },
    /** PUT: `{"data": x}` → x. */
    async put<P extends PathsWith<"put">>(path: P, ...[options]: OptionsArg<P, "put">): Promise<ItemOf<P, "put">> {
      return unwrapItem<ItemOf<P, "put">>(await request("put", path, options));
    },
    /** PATCH: `{"data": x}` → x. */
    async patch<P extends PathsWith<"patch">>(path: P, ...[options]: OptionsArg<P, "patch">): Promise<ItemOf<P, "patch">> {
      return unwrapItem<ItemOf<P, "patch">>(await request("patch", path, options));
    },
    /** DELETE: `{"data": x}` → x. */
    async del<P extends PathsWith<"delete">>(path: P, ...[options]: OptionsArg<P, "delete">): Promise<ItemOf<P, "delete">> {
      return unwrapItem<ItemOf<P, "delete">>(await request("delete", path, options));
    },
  };
}

export type ApiClient = ReturnType<typeof createClient>;

/** The app-wide client (same origin; the dev server proxies /api to the backend). */
export const api = createClient();
