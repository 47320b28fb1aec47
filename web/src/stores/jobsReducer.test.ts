import { describe, expect, it } from "vitest";
import { applyJobUpdate, applyResync, emptyJobsData, RECENT_LIMIT, sortedActive } from "./jobsReducer";
import { makeJob } from "../test/fixtures";

describe("jobs reducer", () => {
  it("applies an event by id", () => {
    let { data } = applyJobUpdate(emptyJobsData, makeJob({ id: "a", progress: 0.1 }));
    ({ data } = applyJobUpdate(data, makeJob({ id: "a", progress: 0.5 })));
    ({ data } = applyJobUpdate(data, makeJob({ id: "b", status: "queued", progress: 0 })));
    expect(Object.keys(data.active).sort()).toEqual(["a", "b"]);
    expect(data.active.a!.progress).toBe(0.5);
    expect(data.recent).toEqual([]);
  });

  it("moves a finished job out of the active list, reporting it once", () => {
    let { data } = applyJobUpdate(emptyJobsData, makeJob({ id: "a" }));
    const done = makeJob({ id: "a", status: "completed", progress: 1, finished_at: "2025-01-01T10:01:00Z" });
    const r1 = applyJobUpdate(data, done);
    data = r1.data;
    expect(data.active).toEqual({});
    expect(data.recent.map((j) => j.id)).toEqual(["a"]);
    expect(r1.finished?.id).toBe("a");
    const r2 = applyJobUpdate(data, done);
    expect(r2.finished).toBeNull();
    expect(r2.data.recent).toHaveLength(1);
  });

  it("ignores a stale active event for a job already finished", () => {
    let { data } = applyJobUpdate(emptyJobsData, makeJob({ id: "a", status: "failed", error: "boom" }));
    ({ data } = applyJobUpdate(data, makeJob({ id: "a", status: "running" })));
    expect(data.active).toEqual({});
    expect(data.recent[0]!.status).toBe("failed");
  });

  it("caps the recent list", () => {
    let data = emptyJobsData;
    for (let i = 0; i < RECENT_LIMIT + 5; i++) {
      data = applyJobUpdate(data, makeJob({ id: `j${i}`, status: "completed" })).data;
    }
    expect(data.recent).toHaveLength(RECENT_LIMIT);
    expect(data.recent[0]!.id).toBe(`j${RECENT_LIMIT + 4}`);
  });

  it("resync replaces the state with the REST snapshot", () => {
    let { data } = applyJobUpdate(emptyJobsData, makeJob({ id: "gone" }));
    data = applyJobUpdate(data, makeJob({ id: "old-done", status: "completed" })).data;
    const res = applyResync(
      data,
      [makeJob({ id: "x", status: "queued" }), makeJob({ id: "y" })],
      [makeJob({ id: "z", status: "cancelled", finished_at: "2025-01-01T11:00:00Z" })],
    );
    expect(Object.keys(res.data.active).sort()).toEqual(["x", "y"]);
    expect(res.data.recent.map((j) => j.id)).toEqual(["z"]);
    expect(res.finished).toEqual([]);
  });

  it("resync reports jobs that finished while we were offline", () => {
    const { data } = applyJobUpdate(emptyJobsData, makeJob({ id: "a" }));
    const res = applyResync(data, [], [makeJob({ id: "a", status: "failed", error: "oom" })]);
    expect(res.data.active).toEqual({});
    expect(res.finished.map((j) => j.id)).toEqual(["a"]);
  });

  it("resync ignores active jobs in the recent page and orders recent by finish time", () => {
    const res = applyResync(
      emptyJobsData,
      [],
      [
        makeJob({ id: "r", status: "running" }),
        makeJob({ id: "early", status: "completed", finished_at: "2025-01-01T10:00:00Z" }),
        makeJob({ id: "late", status: "failed", finished_at: "2025-01-01T12:00:00Z" }),
      ],
    );
    expect(res.data.recent.map((j) => j.id)).toEqual(["late", "early"]);
  });

  it("sorts active jobs: running first, oldest first", () => {
    const active = {
      q: makeJob({ id: "q", status: "queued", created_at: "2025-01-01T09:00:00Z" }),
      r2: makeJob({ id: "r2", created_at: "2025-01-01T10:00:00Z" }),
      r1: makeJob({ id: "r1", created_at: "2025-01-01T08:00:00Z" }),
    };
    expect(sortedActive(active).map((j) => j.id)).toEqual(["r1", "r2", "q"]);
  });
});
