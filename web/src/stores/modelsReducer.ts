/**
 * Pure state transitions of the models store (unit-tested on their own).
 *
 * `models` holds every model this tab knows (from the list and from detail fetches); `listIds` is the
 * current list page in the server's order. `progress` holds the latest download progress event of
 * models that are still being produced; it is dropped as soon as REST says the model left that state,
 * and a late event for a finished model is ignored, so REST always wins.
 */
import { readIdOfJob, writtenIdOfJob } from "../api/resources";
import type { DownloadProgress, Job, Model, Pagination } from "../api/types";
import { idOfProgressChannel, jobFraction, listWith, listWithout, progressChannelOf, withoutKey } from "./listReducer";

export interface ModelsData {
  models: Record<string, Model>;
  listIds: string[];
  pagination: Pagination | null;
  progress: Record<string, DownloadProgress>;
}

export const emptyModelsData: ModelsData = { models: {}, listIds: [], pagination: null, progress: {} };

/** Replace the list page by a REST snapshot (models outside the page stay known for detail views). */
export function applyList(data: ModelsData, items: Model[], pagination: Pagination | null): ModelsData {
  let next: ModelsData = { ...data, listIds: items.map((m) => m.id), pagination };
  const models = { ...data.models };
  for (const m of items) models[m.id] = m;
  next = { ...next, models };
  for (const m of items) if (!m.active) next = { ...next, progress: withoutKey(next.progress, m.id) };
  return next;
}

/** A fresh copy of one model (REST answer); `prepend` puts a new one at the top of the list. */
export function applyModel(data: ModelsData, model: Model, opts: { prepend?: boolean } = {}): ModelsData {
  const progress = model.active ? data.progress : withoutKey(data.progress, model.id);
  return { models: { ...data.models, [model.id]: model }, ...listWith(data, model.id, opts.prepend), progress };
}

export function removeModel(data: ModelsData, id: string): ModelsData {
  return { models: withoutKey(data.models, id), ...listWithout(data, id), progress: withoutKey(data.progress, id) };
}

/** A live progress event; ignored for a model REST already shows finished (a late event). Bytes
 * arriving prove a queued model is running, before the next REST read says so. */
export function applyProgress(data: ModelsData, event: DownloadProgress): ModelsData {
  const model = data.models[event.model_id];
  if (model && !model.active) return data;
  const models =
    model && model.status === "queued" ? { ...data.models, [model.id]: { ...model, status: "running" as const } } : data.models;
  return { ...data, models, progress: { ...data.progress, [event.model_id]: event } };
}

/** The model a job produces: its download or import, or (for a variant it builds) the model it reads. */
export function modelIdOfJob(job: Pick<Job, "reads" | "writes">): string | null {
  return writtenIdOfJob(job, "model") ?? (writtenIdOfJob(job, "model_variant") ? readIdOfJob(job, "model") : null);
}

/** `models/{id}/progress` → id (null for any other channel). */
export function modelIdOfProgressChannel(channel: string): string | null {
  return idOfProgressChannel("models", channel);
}

export function progressChannel(id: string): string {
  return progressChannelOf("models", id);
}

/** Fraction done of a download: bytes from the live event when there is one, else the job's own progress. */
export function downloadFraction(progress: DownloadProgress | undefined, jobProgress: number | null | undefined): number | null {
  if (progress && progress.bytes_total > 0) return progress.bytes_done / progress.bytes_total;
  return jobFraction(jobProgress);
}
