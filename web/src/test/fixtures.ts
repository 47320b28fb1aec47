import type { Health, Job, Model, Preview, Status, Variant } from "../api/types";

export interface LifecycleFlags {
  status: Status;
  active: boolean;
  resumable: boolean;
  retryable: boolean;
  ready: boolean;
}

/**
 * The flags the server sends with a status, for test data only (the app itself never works them out):
 * `restart` is how the row's kind starts again (models, datasets, variants, tokenizations retry; extractions resume).
 */
export function lifecycle(status: Status, restart: "retry" | "resume" | null = "retry"): LifecycleFlags {
  const stopped = status === "failed" || status === "cancelled" || status === "interrupted";
  return {
    status,
    active: status === "queued" || status === "running",
    resumable: restart === "resume" && stopped,
    retryable: restart === "retry" && stopped,
    ready: status === "completed",
  };
}

export function makeJob(over: Partial<Job> = {}): Job {
  const { status, active } = lifecycle(over.status ?? "running");
  return {
    id: "job-1",
    kind: "demo.sleep",
    queue: "default",
    status,
    active,
    progress: 0.42,
    message: "step 42 of 100",
    error: null,
    params: { steps: 100 },
    reads: [],
    writes: [],
    result: null,
    log: [],
    cancel_requested: false,
    runner: "local",
    created_at: "2025-01-01T10:00:00Z",
    started_at: "2025-01-01T10:00:01Z",
    finished_at: null,
    ...over,
  } as Job;
}

export function makeHealth(over: Partial<Health> = {}): Health {
  return {
    status: "ok",
    version: "0.1.0",
    database: { ok: true, dialect: "sqlite", detail: "" },
    runner: { mode: "local", ok: true, detail: "" },
    redis: { configured: false, ok: null, detail: "" },
    disk: { path: "/data", free_bytes: 50 * 1024 ** 3, total_bytes: 100 * 1024 ** 3 },
    device: { kind: "cpu", name: "x86_64", memory_total_bytes: null },
    ...over,
  } as Health;
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

export function makeModel(over: Partial<Model> = {}): Model {
  const flags = lifecycle(over.status ?? "completed");
  return {
    id: "m1",
    name: "tiny/llama",
    source: "hub",
    repo_id: "tiny/llama",
    revision: "main",
    commit_sha: "abc123",
    source_path: null,
    storage_mode: "copy",
    ...flags,
    ready: flags.ready && !over.incompatible_reason,
    message: null,
    progress: flags.ready ? 1 : 0,
    incompatible_reason: null,
    model_type: "llama",
    family: "llama",
    parameter_count: 139_584,
    num_layers: 2,
    hidden_size: 64,
    size_bytes: 570_000,
    download_bytes: 570_000,
    license: "apache-2.0",
    gated: false,
    trust_remote_code: false,
    notes: null,
    job_id: "job-1",
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    variants: [],
    ...over,
  } as Model;
}

export function makeVariant(over: Partial<Variant> = {}): Variant {
  const flags = lifecycle(over.status ?? "completed");
  return {
    id: "v1",
    model_id: "m1",
    requested_format: "fp16",
    format: "fp16",
    device: "cpu",
    ...flags,
    message: null,
    progress: flags.ready ? 1 : 0,
    placement: { device: "cpu" },
    estimate_bytes: 300_000,
    footprint_bytes: 280_000,
    steps: [],
    sample_output: null,
    job_id: null,
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    ...over,
  } as Variant;
}

export function makePreview(over: Partial<Preview> = {}): Preview {
  const formats = (["fp32", "fp16", "bf16", "q8", "q4", "q2"] as const).map((format, i) => ({
    format,
    spec_bytes: 600_000 >> i,
    estimate_bytes: 550_000 >> i,
    fit: "green" as const,
    available: format !== "q2",
    backend: "torch",
    unavailable_reason: format === "q2" ? "hqq is not installed" : null,
  }));
  return {
    repo_id: "tiny/llama",
    revision: "main",
    model_type: "llama",
    family: "llama",
    compatible: true,
    incompatible_reason: null,
    requires_trust_remote_code: false,
    parameter_count: 139_584,
    parameter_source: "safetensors",
    files: [{ path: "model.safetensors", size: 560_000 }],
    total_files: 7,
    download_bytes: 570_000,
    gated: false,
    private: false,
    license: "apache-2.0",
    pipeline_tag: "text-generation",
    device: "cpu",
    memory_budget_bytes: 6 * 1024 ** 3,
    formats,
    ...over,
  } as Preview;
}
