import { beforeEach, describe, expect, it, vi } from "vitest";
import { makeJob } from "../test/fixtures";
import type { JobPage } from "../api/types";

const { listJobs, cancelJob } = vi.hoisted(() => ({ listJobs: vi.fn(), cancelJob: vi.fn() }));
vi.mock("../api/endpoints", () => ({ endpoints: { listJobs, cancelJob, getJob: vi.fn(), health: vi.fn() } }));

import { ApiError } from "../api/client";
import { useJobs } from "./jobs";
import { useToasts } from "./toasts";

function page(items: JobPage["items"]): JobPage {
  return { items, pagination: { page: 1, limit: 50, total: items.length } } as JobPage;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

beforeEach(() => {
  useJobs.getState().reset();
  useToasts.getState().clear();
  listJobs.mockReset();
  cancelJob.mockReset();
});

describe("jobs store", () => {
  it("resync asks REST for active and finished jobs and replaces the state", async () => {
    useJobs.getState().applyUpdate(makeJob({ id: "stale" }));
    listJobs.mockImplementation(async (q: { active: boolean }) =>
      q.active ? page([makeJob({ id: "a" })]) : page([makeJob({ id: "b", status: "completed" })]),
    );
    await useJobs.getState().resync();
    const s = useJobs.getState();
    expect(Object.keys(s.active)).toEqual(["a"]);
    expect(s.recent.map((j) => j.id)).toEqual(["b"]);
    expect(s.synced).toBe(true);
    expect(listJobs).toHaveBeenCalledWith(expect.objectContaining({ active: true }));
  });

  it("replays events that arrive while a resync is in flight", async () => {
    const active = deferred<JobPage>();
    listJobs.mockImplementation((q: { active: boolean }) =>
      q.active ? active.promise : Promise.resolve(page([])),
    );
    const sync = useJobs.getState().resync();
    // Arrives after the snapshot was taken server-side but before the response is applied.
    useJobs.getState().applyUpdate(makeJob({ id: "a", status: "completed", progress: 1 }));
    active.resolve(page([makeJob({ id: "a", progress: 0.9 })]));
    await sync;
    const s = useJobs.getState();
    expect(s.active).toEqual({});
    expect(s.recent.map((j) => [j.id, j.status])).toEqual([["a", "completed"]]);
    // One toast, not two.
    expect(useToasts.getState().toasts.filter((t) => t.title.startsWith("Job completed"))).toHaveLength(1);
  });

  it("toasts a job failure with its error", () => {
    useJobs.getState().applyUpdate(makeJob({ id: "a" }));
    useJobs.getState().applyUpdate(makeJob({ id: "a", status: "failed", error: "CUDA out of memory" }));
    const [toast] = useToasts.getState().toasts;
    expect(toast).toMatchObject({ kind: "error", message: "CUDA out of memory" });
  });

  it("cancel applies the returned job, and reports API errors with the server's message", async () => {
    useJobs.getState().applyUpdate(makeJob({ id: "a" }));
    cancelJob.mockResolvedValueOnce(makeJob({ id: "a", cancel_requested: true }));
    await useJobs.getState().cancel("a");
    expect(useJobs.getState().active.a!.cancel_requested).toBe(true);

    cancelJob.mockRejectedValueOnce(new ApiError(409, "conflict", "job a already finished"));
    await useJobs.getState().cancel("a");
    const last = useToasts.getState().toasts.at(-1);
    expect(last?.kind).toBe("error");
    expect(last?.message).toContain("job a already finished");
    expect(useJobs.getState().cancelling).toEqual({});
  });
});
