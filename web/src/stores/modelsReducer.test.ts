import { describe, expect, it } from "vitest";
import type { DownloadProgress } from "../api/types";
import { makeJob, makeModel } from "../test/fixtures";
import {
  applyList,
  applyModel,
  applyProgress,
  downloadFraction,
  emptyModelsData,
  modelIdOfJob,
  modelIdOfProgressChannel,
  removeModel,
} from "./modelsReducer";

function progress(over: Partial<DownloadProgress> = {}): DownloadProgress {
  return {
    model_id: "m1",
    bytes_done: 100,
    bytes_total: 400,
    bytes_per_second: 50,
    eta_seconds: 6,
    current_file: "model.safetensors",
    files_done: 2,
    files_total: 5,
    ...over,
  };
}

describe("models reducer", () => {
  it("replaces the list page in the server's order and remembers every model", () => {
    const data = applyList(emptyModelsData, [makeModel({ id: "b" }), makeModel({ id: "a" })], { page: 1, limit: 24, total: 2 });
    expect(data.listIds).toEqual(["b", "a"]);
    expect(Object.keys(data.models).sort()).toEqual(["a", "b"]);
    expect(data.pagination?.total).toBe(2);
  });

  it("puts a newly started download at the top and counts it", () => {
    let data = applyList(emptyModelsData, [makeModel({ id: "a" })], { page: 1, limit: 24, total: 1 });
    data = applyModel(data, makeModel({ id: "new", status: "queued" }), { prepend: true });
    expect(data.listIds).toEqual(["new", "a"]);
    expect(data.pagination?.total).toBe(2);
    // A refetch of a known model updates it in place.
    data = applyModel(data, makeModel({ id: "new", status: "running" }), { prepend: true });
    expect(data.listIds).toEqual(["new", "a"]);
    expect(data.models.new!.status).toBe("running");
    expect(data.pagination?.total).toBe(2);
  });

  it("keeps progress while a model downloads and drops it once REST says it finished", () => {
    let data = applyModel(emptyModelsData, makeModel({ status: "running" }));
    data = applyProgress(data, progress());
    expect(data.progress.m1?.bytes_done).toBe(100);
    data = applyModel(data, makeModel({ status: "completed" }));
    expect(data.progress.m1).toBeUndefined();
  });

  it("shows a queued model as running once its bytes arrive", () => {
    const data = applyProgress(applyModel(emptyModelsData, makeModel({ status: "queued" })), progress());
    expect(data.models.m1!.status).toBe("running");
  });

  it("ignores a late progress event for a model that already finished", () => {
    const data = applyModel(emptyModelsData, makeModel({ status: "completed" }));
    expect(applyProgress(data, progress())).toBe(data);
  });

  it("accepts progress for a model it has not fetched yet (the event came first)", () => {
    const data = applyProgress(emptyModelsData, progress({ model_id: "unknown" }));
    expect(data.progress.unknown).toBeDefined();
  });

  it("removes a deleted model from the list, the map, the count and the progress", () => {
    let data = applyList(emptyModelsData, [makeModel({ id: "a", status: "running" }), makeModel({ id: "b" })], {
      page: 1,
      limit: 24,
      total: 2,
    });
    data = applyProgress(data, progress({ model_id: "a" }));
    data = removeModel(data, "a");
    expect(data.listIds).toEqual(["b"]);
    expect(data.models.a).toBeUndefined();
    expect(data.progress.a).toBeUndefined();
    expect(data.pagination?.total).toBe(1);
  });

  it("finds the model a job produces from what it declares (not its kind or params), and of a progress channel", () => {
    expect(modelIdOfJob(makeJob({ kind: "models.download", writes: [{ type: "model", id: "m9" }] }))).toBe("m9");
    const quantize = makeJob({ reads: [{ type: "model", id: "m9" }], writes: [{ type: "model_variant", id: "v" }] });
    expect(modelIdOfJob(quantize)).toBe("m9");
    // An extraction reads the model but produces none of the models store's rows.
    expect(modelIdOfJob(makeJob({ reads: [{ type: "model", id: "m9" }], writes: [{ type: "extraction", id: "e" }] }))).toBeNull();
    expect(modelIdOfJob(makeJob({ kind: "models.download", params: { model_id: "m9" } }))).toBeNull();
    expect(modelIdOfProgressChannel("models/m9/progress")).toBe("m9");
    expect(modelIdOfProgressChannel("models/m9/other")).toBeNull();
    expect(modelIdOfProgressChannel("jobs")).toBeNull();
  });

  it("measures a download in bytes when it can, else by the job's progress", () => {
    expect(downloadFraction(progress(), 0.9)).toBe(0.25);
    expect(downloadFraction(progress({ bytes_total: 0 }), 0.9)).toBe(0.9);
    expect(downloadFraction(undefined, 0.3)).toBe(0.3);
    expect(downloadFraction(undefined, null)).toBeNull();
  });
});
