import { describe, expect, it } from "vitest";
import { parseDatasetEvent, type DatasetDownloadEvent, type DatasetImportEvent, type TokenizeEvent } from "../api/datasets";
import { makeJob } from "../test/fixtures";
import { makeDataset, makeTokenization } from "../pages/datasets/fixtures";
import {
  applyDataset,
  applyEvent,
  applyList,
  datasetFraction,
  datasetIdOfJob,
  datasetIdOfProgressChannel,
  emptyDatasetsData,
  hasActiveWork,
  progressChannel,
  removeDataset,
  tokenizeFraction,
} from "./datasetsReducer";

function download(over: Partial<DatasetDownloadEvent> = {}): DatasetDownloadEvent {
  return {
    kind: "download",
    dataset_id: "d1",
    bytes_done: 100,
    bytes_total: 400,
    bytes_per_second: 50,
    eta_seconds: 6,
    current_file: "data/train.parquet",
    files_done: 0,
    files_total: 2,
    ...over,
  };
}

function imported(over: Partial<DatasetImportEvent> = {}): DatasetImportEvent {
  return { kind: "import", dataset_id: "d1", rows: 5000, bytes_read: 300, bytes_total: 1200, rows_per_second: 2500, current_file: "a.txt", ...over };
}

function tokenize(over: Partial<TokenizeEvent> = {}): TokenizeEvent {
  return {
    kind: "tokenize",
    dataset_id: "d1",
    tokenization_id: "t1",
    rows_done: 250,
    rows_total: 1000,
    sequences: 240,
    tokens: 30_000,
    rows_per_second: 500,
    eta_seconds: 1.5,
    ...over,
  };
}

describe("datasets reducer", () => {
  it("replaces the list page in the server's order and remembers every dataset", () => {
    const data = applyList(emptyDatasetsData, [makeDataset({ id: "b" }), makeDataset({ id: "a" })], { page: 1, limit: 24, total: 2 });
    expect(data.listIds).toEqual(["b", "a"]);
    expect(Object.keys(data.datasets).sort()).toEqual(["a", "b"]);
    expect(data.pagination?.total).toBe(2);
  });

  it("puts a newly added dataset at the top and counts it once", () => {
    let data = applyList(emptyDatasetsData, [makeDataset({ id: "a" })], { page: 1, limit: 24, total: 1 });
    data = applyDataset(data, makeDataset({ id: "new", status: "queued" }), { prepend: true });
    expect(data.listIds).toEqual(["new", "a"]);
    expect(data.pagination?.total).toBe(2);
    data = applyDataset(data, makeDataset({ id: "new", status: "running" }), { prepend: true });
    expect(data.listIds).toEqual(["new", "a"]);
    expect(data.datasets.new!.status).toBe("running");
    expect(data.pagination?.total).toBe(2);
  });

  it("keeps download/import progress while active and drops it once REST says ready", () => {
    let data = applyDataset(emptyDatasetsData, makeDataset({ status: "running" }));
    data = applyEvent(data, download());
    expect(data.progress.d1).toMatchObject({ kind: "download", bytes_done: 100 });
    data = applyEvent(data, imported());
    expect(data.datasets.d1!.status).toBe("running");
    expect(data.progress.d1).toMatchObject({ kind: "import", rows: 5000 });
    data = applyDataset(data, makeDataset({ status: "completed" }));
    expect(data.progress.d1).toBeUndefined();
  });

  it("shows a queued dataset as running once its bytes arrive, and ignores late events", () => {
    let data = applyEvent(applyDataset(emptyDatasetsData, makeDataset({ status: "queued" })), download());
    expect(data.datasets.d1!.status).toBe("running");
    data = applyDataset(data, makeDataset({ status: "completed" }));
    const after = applyEvent(data, download({ bytes_done: 400 }));
    expect(after).toBe(data);
  });

  it("tracks tokenization progress per tokenization and drops it when it finishes", () => {
    const running = makeDataset({ tokenizations: [makeTokenization({ status: "queued", statistics: null })] });
    let data = applyEvent(applyDataset(emptyDatasetsData, running), tokenize());
    expect(data.tokenizeProgress.t1?.rows_done).toBe(250);
    expect(data.datasets.d1!.tokenizations[0]!.status).toBe("running");
    data = applyDataset(data, makeDataset({ tokenizations: [makeTokenization({ status: "completed" })] }));
    expect(data.tokenizeProgress.t1).toBeUndefined();
    expect(applyEvent(data, tokenize({ rows_done: 1000 }))).toBe(data); // late event for a ready tokenization
  });

  it("forgets progress of a tokenization that was deleted", () => {
    let data = applyDataset(emptyDatasetsData, makeDataset({ tokenizations: [makeTokenization({ status: "running" })] }));
    data = applyEvent(data, tokenize());
    data = applyDataset(data, makeDataset({ tokenizations: [] }));
    expect(data.tokenizeProgress).toEqual({});
  });

  it("removes a dataset with its progress and count", () => {
    let data = applyList(emptyDatasetsData, [makeDataset({ id: "d1", status: "running" }), makeDataset({ id: "b" })], { page: 1, limit: 24, total: 2 });
    data = applyEvent(data, imported());
    data = removeDataset(data, "d1");
    expect(data.listIds).toEqual(["b"]);
    expect(data.pagination?.total).toBe(1);
    expect(data.progress).toEqual({});
    expect(data.datasets.d1).toBeUndefined();
  });

  it("finds the dataset a job produces from what it declares, and of a progress channel", () => {
    const tokenize = makeJob({ reads: [{ type: "dataset", id: "d1" }, { type: "model", id: "m1" }], writes: [{ type: "tokenization", id: "t1" }] });
    expect(datasetIdOfJob(tokenize)).toBe("d1");
    expect(datasetIdOfJob(makeJob({ kind: "anything.import", writes: [{ type: "dataset", id: "d2" }] }))).toBe("d2");
    // An extraction reads a dataset but produces none of the datasets store's rows.
    expect(datasetIdOfJob(makeJob({ reads: [{ type: "dataset", id: "d1" }], writes: [{ type: "extraction", id: "e1" }] }))).toBeNull();
    expect(datasetIdOfJob(makeJob({ kind: "datasets.import", params: { dataset_id: "d1" } }))).toBeNull();
    expect(datasetIdOfProgressChannel(progressChannel("abc"))).toBe("abc");
    expect(datasetIdOfProgressChannel("models/abc/progress")).toBeNull();
  });

  it("computes fractions from live events, else from the job", () => {
    expect(datasetFraction(download(), 0.1)).toBe(0.25);
    expect(datasetFraction(imported(), 0.1)).toBe(0.25);
    expect(datasetFraction(undefined, 0.1)).toBe(0.1);
    expect(datasetFraction(undefined, null)).toBeNull();
    expect(tokenizeFraction(tokenize(), 0.9)).toBe(0.25);
    expect(tokenizeFraction(undefined, 0.5)).toBe(0.5);
  });

  it("knows when work still runs on a dataset and how much disk it takes", () => {
    expect(hasActiveWork(makeDataset())).toBe(false);
    expect(hasActiveWork(makeDataset({ status: "queued" }))).toBe(true);
    const d = makeDataset({ tokenizations: [makeTokenization({ status: "running", size_bytes: 0 }), makeTokenization({ id: "t2", size_bytes: 500 })] });
    expect(hasActiveWork(d)).toBe(true);
  });
});

describe("dataset progress events", () => {
  it("reads each event kind of the channel's own dataset, and nothing else", () => {
    const msg = (event: string, data: unknown, channel = "datasets/d1/progress") => ({ channel, event, data });
    expect(parseDatasetEvent(msg("download", download()))).toEqual(download());
    expect(parseDatasetEvent(msg("import", imported()))).toEqual(imported());
    expect(parseDatasetEvent(msg("tokenize", tokenize()))).toEqual(tokenize());
    const done = { dataset_id: "d1", tokenization_id: "t1" };
    expect(parseDatasetEvent(msg("tokenized", done))).toEqual({ kind: "tokenized", ...done });
    expect(parseDatasetEvent(msg("ready", { dataset_id: "d1", splits: { train: 3 } }))).toEqual({ kind: "ready", dataset_id: "d1", splits: { train: 3 } });
    expect(parseDatasetEvent(msg("other", { dataset_id: "d1" }))).toBeNull();
    expect(parseDatasetEvent(msg("import", imported(), "datasets/d2/progress"))).toBeNull();
    expect(parseDatasetEvent(msg("import", imported(), "models/d1/progress"))).toBeNull();
    expect(parseDatasetEvent(msg("import", null))).toBeNull();
  });
});
