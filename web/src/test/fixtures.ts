import type { Health, Job } from "../api/types";

export function makeJob(over: Partial<Job> = {}): Job {
  return {
    id: "job-1",
    kind: "demo.sleep",
    queue: "default",
    status: "running",
    progress: 0.42,
    message: "step 42 of 100",
    error: null,
    params: { steps: 100 },
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
