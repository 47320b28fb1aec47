import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeSocket } from "../test/fakeSocket";
import { makeJob, makeModel } from "../test/fixtures";

const api = vi.hoisted(() => ({
  list: vi.fn(),
  get: vi.fn(),
  download: vi.fn(),
  importModel: vi.fn(),
  cancelDownload: vi.fn(),
  retry: vi.fn(),
  update: vi.fn(),
  remove: vi.fn(),
  quantize: vi.fn(),
  deleteVariant: vi.fn(),
  preview: vi.fn(),
  architecture: vi.fn(),
  formats: vi.fn(),
  compare: vi.fn(),
}));
vi.mock("../api/models", () => ({ modelsApi: api }));

import { ApiError } from "../api/client";
import { REFETCH_MS, startModelsLive, useModels } from "./models";
import { useToasts } from "./toasts";

beforeEach(() => {
  useModels.getState().reset();
  useToasts.getState().clear();
  for (const fn of Object.values(api)) fn.mockReset();
});

describe("models store", () => {
  it("loads the list with the current filters", async () => {
    api.list.mockResolvedValue({ items: [makeModel({ id: "a" })], pagination: { page: 1, limit: 24, total: 1 } });
    useModels.getState().setQuery({ status: "completed", search: "llama" });
    await useModels.getState().fetchList();
    expect(api.list).toHaveBeenCalledWith(expect.objectContaining({ status: "completed", search: "llama", page: 1 }), undefined);
    expect(useModels.getState().listIds).toEqual(["a"]);
    expect(useModels.getState().listLoaded).toBe(true);
  });

  it("sends the token with a download but never keeps it", async () => {
    api.download.mockResolvedValue(makeModel({ id: "new", status: "queued", job_id: "j" }));
    await useModels.getState().download({ repo_id: "tiny/llama", token: "hf_secret", trust_remote_code: false });
    expect(api.download).toHaveBeenCalledWith(expect.objectContaining({ token: "hf_secret" }));
    expect(useModels.getState().listIds).toEqual(["new"]);
    expect(JSON.stringify(useModels.getState())).not.toContain("hf_secret");
  });

  it("lets a download error through to the form, with the server's message", async () => {
    api.download.mockRejectedValue(new ApiError(400, "invalid_input", "repo id must match ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"));
    await expect(useModels.getState().download({ repo_id: "bad", trust_remote_code: false })).rejects.toThrow("repo id must match");
  });

  it("reports a refused delete as a toast naming the running job, and keeps the model", async () => {
    useModels.getState().upsert(makeModel({ id: "a" }), { prepend: true });
    api.remove.mockRejectedValue(new ApiError(409, "conflict", "model 'a' is used by running job extraction 123"));
    expect(await useModels.getState().remove("a")).toBeNull();
    expect(useModels.getState().models.a).toBeDefined();
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "error", message: expect.stringContaining("running job extraction 123") });
    expect(useModels.getState().pending).toEqual({});
  });

  it("removes a deleted model and says how much was freed", async () => {
    useModels.getState().upsert(makeModel({ id: "a", name: "tiny" }), { prepend: true });
    api.remove.mockResolvedValue({ id: "a", bytes_freed: 2 * 1024 * 1024, variants_removed: 1 });
    await useModels.getState().remove("a");
    expect(useModels.getState().listIds).toEqual([]);
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "success", title: "Deleted tiny", message: expect.stringContaining("2.0 MB") });
  });

  it("drops a model that a refetch finds gone", async () => {
    useModels.getState().upsert(makeModel({ id: "a" }), { prepend: true });
    api.get.mockRejectedValue(new ApiError(404, "not_found", "no model 'a'"));
    expect(await useModels.getState().fetchModel("a")).toBeNull();
    expect(useModels.getState().models.a).toBeUndefined();
  });
});

describe("models live wiring", () => {
  it("follows the progress channel of active models only, and applies its events", () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const stop = startModelsLive(socket);
    useModels.getState().upsert(makeModel({ id: "a", status: "running" }), { prepend: true });
    useModels.getState().upsert(makeModel({ id: "b", status: "completed" }), { prepend: true });
    expect(socket.channels).toEqual(["models/a/progress"]);

    socket.emit({
      channel: "models/a/progress",
      event: "progress",
      data: { model_id: "a", bytes_done: 5, bytes_total: 10, bytes_per_second: 1, eta_seconds: 5, current_file: null, files_done: 0, files_total: 1 },
    });
    expect(useModels.getState().progress.a?.bytes_done).toBe(5);

    useModels.getState().upsert(makeModel({ id: "a", status: "completed" }));
    expect(socket.channels).toEqual([]);
    expect(useModels.getState().progress.a).toBeUndefined();
    stop();
    vi.useRealTimers();
  });

  it("refetches the model of a models.* job update (once per burst), and the list for an unknown one", async () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const stop = startModelsLive(socket);
    useModels.getState().upsert(makeModel({ id: "a", status: "running" }), { prepend: true });
    api.get.mockResolvedValue(makeModel({ id: "a", status: "completed" }));
    api.list.mockResolvedValue({ items: [], pagination: { page: 1, limit: 24, total: 0 } });

    const update = (id: string, type = "model") =>
      socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ writes: [{ type, id }] }) });
    update("a");
    update("a");
    update("a", "extraction");
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.get).toHaveBeenCalledTimes(1);
    expect(api.get).toHaveBeenCalledWith("a", undefined);
    expect(useModels.getState().models.a!.status).toBe("completed");

    update("elsewhere");
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.list).toHaveBeenCalledTimes(1);
    stop();
    vi.useRealTimers();
  });
});
