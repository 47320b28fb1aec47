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
import { isActiveDatasetStatus, isActiveTokenizationStatus } from "../api/datasets";

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

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

/** Drop the progress of a dataset (and of its tokenizations) that REST shows finished. */
function pruneProgress(data: DatasetsData, dataset: Dataset): Pick<DatasetsData, "progress" | "tokenizeProgress"> {
  const progress = isActiveDatasetStatus(dataset.status) ? data.progress : withoutKey(data.progress, dataset.id);
  let tokenizeProgress = data.tokenizeProgress;
  const known = new Set(dataset.tokenizations.map((t) => t.id));
  for (const t of dataset.tokenizations) {
    if (!isActiveTokenizationStatus(t.status)) tokenizeProgress = withoutKey(tokenizeProgress, t.id);
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
  const known = data.listIds.includes(dataset.id);
  const listIds = known || !opts.prepend ? data.listIds : [dataset.id, ...data.listIds];
  const pagination =
    !known && opts.prepend && data.pagination ? { ...data.pagination, total: data.pagination.total + 1 } : data.pagination;
  return {
    ...data,
    datasets: { ...data.datasets, [dataset.id]: dataset },
    listIds,
    pagination,
    ...pruneProgress(data, dataset),
  };
}

export function removeDataset(data: DatasetsData, id: string): DatasetsData {
  const known = data.listIds.includes(id);
  let tokenizeProgress = data.tokenizeProgress;
  for (const [tid, event] of Object.entries(tokenizeProgress)) {
    if (event.dataset_id === id) tokenizeProgress = withoutKey(tokenizeProgress, tid);
  }
  return {
    datasets: withoutKey(data.datasets, id),
    listIds: known ? data.listIds.filter((x) => x !== id) : data.listIds,
    pagination: known && data.pagination ? { ...data.pagination, total: Math.max(0, data.pagination.total - 1) } : data.pagination,
    progress: withoutKey(data.progress, id),
    tokenizeProgress,
  };
}

/**
 * A live event. Bytes or rows arriving prove a queued dataset is downloading/importing (before the next REST
 * read says so); rows of a tokenization prove it runs. Events for work REST already shows finished are ignored.
 */
export function applyEvent(data: DatasetsData, event: DatasetEvent): DatasetsData {
  const dataset = data.datasets[event.dataset_id];
  if (event.kind === "download" || event.kind === "import") {
    if (dataset && !isActiveDatasetStatus(dataset.status)) return data;
    const status = event.kind === "download" ? ("downloading" as const) : ("importing" as const);
    const datasets = dataset && dataset.status !== status ? { ...data.datasets, [dataset.id]: { ...dataset, status } } : data.datasets;
    return { ...data, datasets, progress: { ...data.progress, [event.dataset_id]: event } };
  }
  if (event.kind === "tokenize") {
    const tokenization = dataset?.tokenizations.find((t) => t.id === event.tokenization_id);
    if (tokenization && !isActiveTokenizationStatus(tokenization.status)) return data;
    let datasets = data.datasets;
    if (dataset && tokenization && tokenization.status === "queued") {
      const tokenizations = dataset.tokenizations.map((t) => (t.id === tokenization.id ? { ...t, status: "running" as const } : t));
      datasets = { ...datasets, [dataset.id]: { ...dataset, tokenizations } };
    }
    return { ...data, datasets, tokenizeProgress: { ...data.tokenizeProgress, [event.tokenization_id]: event } };
  }
  return data; // ready / tokenized: the store refetches, REST brings the new state
}

/** The dataset a `datasets.*` job works on (its params carry `dataset_id`), or null for any other job. */
export function datasetIdOfJob(job: Pick<Job, "kind" | "params">): string | null {
  if (!job.kind.startsWith("datasets.")) return null;
  const params = job.params as Record<string, unknown> | null | undefined;
  const id = params?.dataset_id;
  return typeof id === "string" && id ? id : null;
}

/** `datasets/{id}/progress` → id (null for any other channel). */
export function datasetIdOfProgressChannel(channel: string): string | null {
  const m = /^datasets\/([^/]+)\/progress$/.exec(channel);
  return m ? m[1]! : null;
}

export function progressChannel(id: string): string {
  return `datasets/${id}/progress`;
}

/** Does anything still run on this dataset (its own download/import, or a tokenization)? */
export function hasActiveWork(dataset: Dataset): boolean {
  return isActiveDatasetStatus(dataset.status) || dataset.tokenizations.some((t) => isActiveTokenizationStatus(t.status));
}

/** Fraction done of a download/import: from the live event when there is one, else the job's own progress. */
export function datasetFraction(progress: DatasetProgress | undefined, jobProgress: number | null | undefined): number | null {
  if (progress?.kind === "download" && progress.bytes_total > 0) return progress.bytes_done / progress.bytes_total;
  if (progress?.kind === "import" && progress.bytes_total > 0) return progress.bytes_read / progress.bytes_total;
  if (jobProgress !== null && jobProgress !== undefined && Number.isFinite(jobProgress)) return jobProgress;
  return null;
}

/** Fraction done of a tokenization: rows from the live event, else the job's own progress. */
export function tokenizeFraction(progress: TokenizeEvent | undefined, jobProgress: number | null | undefined): number | null {
  if (progress && progress.rows_total > 0) return progress.rows_done / progress.rows_total;
  if (jobProgress !== null && jobProgress !== undefined && Number.isFinite(jobProgress)) return jobProgress;
  return null;
}

