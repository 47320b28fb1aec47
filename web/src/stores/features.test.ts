import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeAnalysis } from "../pages/features/fixtures";
import { makeJob } from "../test/fixtures";
import { FakeSocket } from "../test/fakeSocket";

const features = vi.hoisted(() => ({ list: vi.fn(), get: vi.fn(), start: vi.fn(), pause: vi.fn(), resume: vi.fn(), remove: vi.fn() }));
vi.mock("../api/features", async (importOriginal) => ({ ...(await importOriginal<object>()), featuresApi: features }));

import { ApiError } from "../api/client";
import { useAnalyses, startAnalysesLive } from "./features";
import { REFETCH_MS } from "./liveResource";
import { useToasts } from "./toasts";

const running = makeAnalysis({ id: "a1", status: "running", active: true, ready: false, progress: 0.2 });

beforeEach(() => {
  useAnalyses.setState({ analyses: {}, listIds: [], progress: {}, pending: {}, query: { saeId: "", page: 1, limit: 200 }, listLoaded: false });
  useToasts.getState().clear();
  for (const fn of Object.values(features)) fn.mockReset();
});
afterEach(() => vi.useRealTimers());

describe("the analyses store", () => {
  it("lists one SAE's analyses and puts a started one on top", async () => {
    features.list.mockResolvedValue({ items: [makeAnalysis({ id: "old" })], pagination: { page: 1, limit: 200, total: 1 } });
    useAnalyses.getState().showSae("sae1");
    await useAnalyses.getState().fetchList();
    expect(features.list).toHaveBeenCalledWith("sae1", undefined);
    features.start.mockResolvedValue({ ...running, job_id: "j2" });
    await useAnalyses.getState().start("sae1", { format: "fp32" } as never);
    expect(useAnalyses.getState().listIds).toEqual(["a1", "old"]);
  });

  it("says why a resume was refused, as a toast with the server's words", async () => {
    features.resume.mockRejectedValue(new ApiError(409, "conflict", "analysis 'a1' is completed: nothing to resume"));
    expect(await useAnalyses.getState().resume("a1")).toBeNull();
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "error", title: "Could not resume the analysis" });
    expect(useAnalyses.getState().pending).toEqual({});
  });
});

describe("startAnalysesLive", () => {
  it("follows running analyses' progress, and refetches on a status event or a job update", async () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    useAnalyses.setState({ analyses: { a1: running, a2: makeAnalysis({ id: "a2" }) }, listIds: ["a1", "a2"] });
    const stop = startAnalysesLive(socket);
    expect(socket.channels).toEqual(["feature-analyses/a1"]);

    const progress = { analysis_id: "a1", phase: "activations", pass_number: 1, passes: 2, sequences_done: 3, sequences_total: 6, tokens_per_second: 50 };
    socket.emit({ channel: "feature-analyses/a1", event: "progress", data: progress });
    expect(useAnalyses.getState().progress.a1).toMatchObject({ kind: "progress", sequences_done: 3 });
    // Another analysis' data on this channel is not this one's.
    socket.emit({ channel: "feature-analyses/a1", event: "progress", data: { ...progress, analysis_id: "zz", sequences_done: 5 } });
    expect(useAnalyses.getState().progress.a1!.sequences_done).toBe(3);

    features.get.mockResolvedValue(makeAnalysis({ id: "a1" }));
    socket.emit({ channel: "feature-analyses/a1", event: "status", data: { analysis_id: "a1", status: "completed", message: null } });
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(features.get).toHaveBeenCalledWith("a1", undefined);
    expect(useAnalyses.getState().analyses.a1!.ready).toBe(true);
    expect(useAnalyses.getState().progress.a1).toBeUndefined(); // done: the bar shows the row
    expect(socket.channels).toEqual([]);

    features.get.mockClear();
    socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ id: "j2", writes: [{ type: "feature_analysis", id: "a2" }] }) });
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(features.get).toHaveBeenCalledWith("a2", undefined);
    stop();
  });
});
