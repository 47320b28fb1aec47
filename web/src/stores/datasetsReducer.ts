/**
 * Pure state transitions of the datasets store (unit-tested on their own).
 *
 * `datasets` holds every dataset this tab knows (from the list and from detail fetches); `listIds` is the
 * current list page in the server's order. `progress` holds the latest download/import event of datasets
 * still being produced, `tokenizeProgress` the latest event of tokenizations still running. Both are dropped
 * as soon as REST says the thing left that state, and late events for finished work are ignored: REST wins.
 */
import type { Job, Pagination } from "../api/types";
import type { Dataset, DatasetDownloadEvent, DatasetEvent, DatasetImportEvent, TokenizeEvent } from "../api/datasets";
import { readIdOfJob, writtenIdOfJob } from "../api/resources";
import { idOfProgressChannel, jobFraction, listWith, listWithout, progressChannelOf, withoutKey } from "./listReducer";

export type DatasetProgress = DatasetDownloadEvent | DatasetImportEvent;

export interface DatasetsData {
  datasets: Record<string, Dataset>;
  listIds: string[];
  pagination: Pagination | null;
  /** dataset id → its latest download or import event. */
  progress: Record<string, DatasetProgress>;
  /** tokenization id → its latest tokenize event. */
  tokenizeProgress: Record<string, TokenizeEvent>;
}

export const emptyDatasetsData: DatasetsData = { datasets: {}, listIds: [], pagination: null, progress: {}, tokenizeProgress: {} };

/** Drop the progress of a dataset (and of its tokenizations) that REST shows finished. */
function pruneProgress(data: DatasetsData, dataset: Dataset): Pick<DatasetsData, "progress" | "tokenizeProgress"> {
  const progress = dataset.active ? data.progress : withoutKey(data.progress, dataset.id);
  let tokenizeProgress = data.tokenizeProgress;
  const known = new Set(dataset.tokenizations.map((t) => t.id));
  for (const t of dataset.tokenizations) {
    if (!t.active) tokenizeProgress = withoutKey(tokenizeProgress, t.id);
  }
  // Tokenizations deleted since the last event: their progress goes too.
  for (const [tid, event] of Object.entries(tokenizeProgress)) {
    if (event.dataset_id === dataset.id && !known.has(tid)) tokenizeProgress = withoutKey(tokenizeProgress, tid);
  }
  return { progress, tokenizeProgress };
}

/** Replace the list page by a REST snapshot (datasets outside the page stay known for detail views). */
export function applyList(data: DatasetsData, items: Dataset[], pagination: Pagination | null): DatasetsData {
  let next: DatasetsData = { ...data, listIds: items.map((d) => d.id), pagination, datasets: { ...data.datasets } };
  for (const d of items) {
    next.datasets[d.id] = d;
    next = { ...next, ...pruneProgress(next, d) };
  }
  return next;
}

/** A fresh copy of one dataset (REST answer); `prepend` puts a new one at the top of the list. */
export function applyDataset(data: DatasetsData, dataset: Dataset, opts: { prepend?: boolean } = {}): DatasetsData {
  return {
    ...data,
    datasets: { ...data.datasets, [dataset.id]: dataset },
    ...listWith(data, dataset.id, opts.prepend),
    ...pruneProgress(data, dataset),
  };
}

export function removeDataset(data: DatasetsData, id: string): DatasetsData {
  let tokenizeProgress = data.tokenizeProgress;
  for (const [tid, event] of Object.entries(tokenizeProgress)) {
    if (event.dataset_id === id) tokenizeProgress = withoutKey(tokenizeProgress, tid);
  }
  return {
    datasets: withoutKey(data.datasets, id),
    ...listWithout(data, id),
    progress: withoutKey(data.progress, id),
    tokenizeProgress,
  };
}

/**
 * A live event. Bytes or rows arriving prove a queued dataset (or tokenization) is running, before the next REST
 * read says so. Events for work REST already shows finished are ignored.
 */
export function applyEvent(data: DatasetsData, event: DatasetEvent): DatasetsData {
  const dataset = data.datasets[event.dataset_id];
  if (event.kind === "download" || event.kind === "import") {
    if (dataset && !dataset.active) return data;
    const datasets =
      dataset && dataset.status === "queued" ? { ...data.datasets, [dataset.id]: { ...dataset, status: "running" as const } } : data.datasets;
    return { ...data, datasets, progress: { ...data.progress, [event.dataset_id]: event } };
  }
  if (event.kind === "tokenize") {
    const tokenization = dataset?.tokenizations.find((t) => t.id === event.tokenization_id);
    if (tokenization && !tokenization.active) return data;
    let datasets = data.datasets;
    if (dataset && tokenization && tokenization.status === "queued") {
      const tokenizations = dataset.tokenizations.map((t) => (t.id === tokenization.id ? { ...t, status: "running" as const } : t));
      datasets = { ...datasets, [dataset.id]: { ...dataset, tokenizations } };
    }
    return { ...data, datasets, tokenizeProgress: { ...data.tokenizeProgress, [event.tokenization_id]: event } };
  }
  return data; // ready / tokenized: the store refetches, REST brings the new state
}

/** The dataset a job produces: its download or import, or (for a tokenization) the dataset it reads. */
export function datasetIdOfJob(job: Pick<Job, "reads" | "writes">): string | null {
  return writtenIdOfJob(job, "dataset") ?? (writtenIdOfJob(job, "tokenization") ? readIdOfJob(job, "dataset") : null);
}

/** `datasets/{id}/progress` → id (null for any other channel). */
export function datasetIdOfProgressChannel(channel: string): string | null {
  return idOfProgressChannel("datasets", channel);
}

export function progressChannel(id: string): string {
  return progressChannelOf("datasets", id);
}

/** Does anything still run on this dataset (its own download/import, or a tokenization)? */
export function hasActiveWork(dataset: Dataset): boolean {
  return dataset.active || dataset.tokenizations.some((t) => t.active);
}

/** Fraction done of a download/import: from the live event when there is one, else the job's own progress. */
export function datasetFraction(progress: DatasetProgress | undefined, jobProgress: number | null | undefined): number | null {
  if (progress?.kind === "download" && progress.bytes_total > 0) return progress.bytes_done / progress.bytes_total;
  if (progress?.kind === "import" && progress.bytes_total > 0) return progress.bytes_read / progress.bytes_total;
  return jobFraction(jobProgress);
}

/** Fraction done of a tokenization: rows from the live event, else the job's own progress. */
export function tokenizeFraction(progress: TokenizeEvent | undefined, jobProgress: number | null | undefined): number | null {
  if (progress && progress.rows_total > 0) return progress.rows_done / progress.rows_total;
  return jobFraction(jobProgress);
}

