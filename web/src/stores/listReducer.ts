/**
 * Pure helpers shared by the reducers of the list stores (models, datasets): a record without one key,
 * and the current list page (ids in the server's order, and the total) as items come and go.
 */
import type { Pagination } from "../api/types";

export interface ListPage {
  listIds: string[];
  pagination: Pagination | null;
}

/** `record` without `key` (the same object when it has no such key). */
export function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

/** The list page once item `id` is known; with `prepend` a new one goes on top and counts in the total. */
export function listWith(page: ListPage, id: string, prepend = false): ListPage {
  const known = page.listIds.includes(id);
  const listIds = known || !prepend ? page.listIds : [id, ...page.listIds];
  const pagination = !known && prepend && page.pagination ? { ...page.pagination, total: page.pagination.total + 1 } : page.pagination;
  return { listIds, pagination };
}

/** The list page once item `id` is gone. */
export function listWithout(page: ListPage, id: string): ListPage {
  const known = page.listIds.includes(id);
  return {
    listIds: known ? page.listIds.filter((x) => x !== id) : page.listIds,
    pagination: known && page.pagination ? { ...page.pagination, total: Math.max(0, page.pagination.total - 1) } : page.pagination,
  };
}

/** Fraction done from the job's own progress (before the first live event), or null when it has none. */
export function jobFraction(jobProgress: number | null | undefined): number | null {
  return jobProgress !== null && jobProgress !== undefined && Number.isFinite(jobProgress) ? jobProgress : null;
}

/** `{prefix}/{id}/progress`: the WebSocket channel of one item's live progress. */
export function progressChannelOf(prefix: string, id: string): string {
  return `${prefix}/${id}/progress`;
}

/** `{prefix}/{id}/progress` → id (null for any other channel). */
export function idOfProgressChannel(prefix: string, channel: string): string | null {
  const parts = channel.split("/");
  return parts.length === 3 && parts[0] === prefix && parts[1] && parts[2] === "progress" ? parts[1] : null;
}
