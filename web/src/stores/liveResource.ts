/**
 * What the list stores (models, datasets) share: the list page and per-item fetches from REST, actions in
 * flight marked by item id, and the live wiring that refetches items when their jobs change and follows
 * the progress channel of the items something still works on.
 *
 * REST is the truth: a `job.updated` of a job working on an item triggers a refetch of that item (or of
 * the list, for an item this tab does not know yet). Progress events only move the bars between refetches.
 */
import type { StoreApi } from "zustand";
import { isApiError } from "../api/client";
import { eventOn } from "../api/events";
import type { Job, Pagination, WsMessage } from "../api/types";
import { formatBytes } from "../lib/format";
import { reportError, useToasts } from "./toasts";

/** Refetch an item touched by a job at most once per REFETCH_MS (and the list likewise). */
export const REFETCH_MS = 250;

// --- actions in flight -----------------------------------------------------------------------------------

/**
 * Run `fn` with `value` marked for `id` in the state's record `key` (e.g. `pending`); the mark goes once it
 * settles, whatever the outcome. Errors go through to the caller.
 */
export async function whileMarked<S, K extends keyof S, T>(
  set: StoreApi<S>["setState"],
  key: K,
  id: string,
  value: S[K] extends Record<string, infer V> ? V : never,
  fn: () => Promise<T>,
): Promise<T> {
  const marks = (s: S) => s[key] as Record<string, unknown>;
  set((s) => ({ [key]: { ...marks(s), [id]: value } }) as unknown as Partial<S>);
  try {
    return await fn();
  } finally {
    set((s) => {
      const record = { ...marks(s) };
      delete record[id];
      return { [key]: record } as unknown as Partial<S>;
    });
  }
}

/** Run `fn`; an error becomes a toast titled `title` with the server's text, and the result is null. */
export async function reporting<T>(title: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    reportError(e, title);
    return null;
  }
}

/** Say that a delete went through and how much disk it freed (`more`: what else went, e.g. ", 2 variant(s) removed"). */
export function reportFreed(title: string, bytes: number, more = ""): void {
  useToasts.getState().push({ kind: "success", title, message: `Freed ${formatBytes(bytes)}${more}.` });
}

// --- the list page and single items from REST -------------------------------------------------------------

/** The list part of a store's state. */
export interface ListState<Q> {
  query: Q;
  listLoading: boolean;
  /** The list has been loaded at least once. */
  listLoaded: boolean;
  listError: string | null;
}

export function initialListState<Q>(query: Q): ListState<Q> {
  return { query, listLoading: false, listLoaded: false, listError: null };
}

export interface ResourceConfig<S extends ListState<object>, T> {
  list: (query: S["query"], signal?: AbortSignal) => Promise<{ items: T[]; pagination: Pagination }>;
  get: (id: string, signal?: AbortSignal) => Promise<T>;
  /** The state after a REST snapshot of the list page, a fresh copy of one item (a new one on top with `prepend`), an item gone. */
  applyList: (items: T[], pagination: Pagination) => Partial<S>;
  applyItem: (item: T, opts?: { prepend?: boolean }) => Partial<S>;
  removeItem: (id: string) => Partial<S>;
  /** Toast title when the list cannot be loaded. */
  listErrorTitle: string;
  /** The whole state after `reset`. */
  initial: Partial<S>;
}

/** The REST side of a list store: its query, list and item fetches, keeping what REST answers, and `reset`. */
export function resourceActions<S extends ListState<object>, T>(
  set: StoreApi<S>["setState"],
  get: StoreApi<S>["getState"],
  cfg: ResourceConfig<S, T>,
) {
  let generation = 0;
  const patch = (p: Partial<ListState<object>>) => set(p as Partial<S>);
  /** Keep a fresh copy of an item that REST answered with (a new one on top with `prepend`), and hand it on. */
  const keep = <R extends T>(item: R, opts?: { prepend?: boolean }): R => {
    set(cfg.applyItem(item, opts));
    return item;
  };
  return {
    keep,
    upsert: (item: T, opts?: { prepend?: boolean }) => void keep(item, opts),

    /** Change the filters (back to page 1 unless a page is given). */
    setQuery: (q: Partial<S["query"]>) => set((s) => ({ query: { ...s.query, page: 1, ...q } }) as Partial<S>),

    /** Load the list page of the current query; a newer fetch (other filters) supersedes this one. */
    fetchList: async (signal?: AbortSignal): Promise<void> => {
      const gen = ++generation;
      patch({ listLoading: true });
      try {
        const page = await cfg.list(get().query, signal);
        if (gen !== generation) return;
        set({ ...cfg.applyList(page.items, page.pagination), listLoading: false, listLoaded: true, listError: null });
      } catch (e) {
        if (signal?.aborted || gen !== generation) return;
        patch({ listLoading: false, listError: e instanceof Error ? e.message : String(e) });
        reportError(e, cfg.listErrorTitle);
      }
    },

    /** Refetch one item (404 → it was deleted elsewhere: drop it; null then, and when aborted). */
    fetchItem: async (id: string, signal?: AbortSignal): Promise<T | null> => {
      try {
        return keep(await cfg.get(id, signal));
      } catch (e) {
        if (signal?.aborted) return null;
        if (isApiError(e) && e.status === 404) {
          set(cfg.removeItem(id));
          return null;
        }
        throw e;
      }
    },

    /** Back to the initial state; list fetches in flight are ignored when they land. */
    reset: () => {
      generation++;
      set({ ...cfg.initial });
    },
  };
}

// --- live wiring ------------------------------------------------------------------------------------------

/** The part of the WebSocket client the live wiring uses. */
export interface LiveSocketLike {
  onMessage: (fn: (msg: WsMessage) => void) => () => void;
  subscribe: (channel: string) => () => void;
}

export interface LiveResourceConfig<S, T extends { id: string }> {
  store: Pick<StoreApi<S>, "getState" | "subscribe">;
  /** The items the store knows, by id. */
  items: (s: S) => Record<string, T>;
  /** The item a job works on, or null for a job of another kind. */
  idOfJob: (job: Job) => string | null;
  /** Items whose progress channel is followed: something still works on them. */
  isActive: (item: T) => boolean;
  progressChannel: (id: string) => string;
  fetchItem: (id: string) => Promise<unknown>;
  fetchList: () => Promise<void>;
  /** Toast title when a refetch fails. */
  refreshErrorTitle: string;
  /** Every message but a job update; `refetch` schedules a refetch of one item. */
  onMessage: (msg: WsMessage, refetch: (id: string) => void) => void;
}

/** Wire `job.updated` (refetch) and the items' progress channels to a store; returns a stop function. */
export function startLiveResource<S, T extends { id: string }>(socket: LiveSocketLike, cfg: LiveResourceConfig<S, T>): () => void {
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const subscriptions = new Map<string, () => void>();
  let listTimer: ReturnType<typeof setTimeout> | null = null;

  const refetch = (id: string) => {
    if (timers.has(id)) return;
    timers.set(
      id,
      setTimeout(() => {
        timers.delete(id);
        cfg.fetchItem(id).catch((e) => reportError(e, cfg.refreshErrorTitle));
      }, REFETCH_MS),
    );
  };
  const refetchList = () => {
    if (listTimer) return;
    listTimer = setTimeout(() => {
      listTimer = null;
      void cfg.fetchList();
    }, REFETCH_MS);
  };

  const onJob = (job: Job) => {
    const id = cfg.idOfJob(job);
    if (id === null) return;
    if (cfg.items(cfg.store.getState())[id]) refetch(id);
    else refetchList(); // started elsewhere (CLI, another tab)
  };

  // Follow the progress channel of exactly the items something still works on.
  const syncSubscriptions = (items: Record<string, T>) => {
    const wanted = new Set(Object.values(items).filter(cfg.isActive).map((item) => item.id));
    for (const [id, off] of subscriptions) {
      if (!wanted.has(id)) {
        off();
        subscriptions.delete(id);
      }
    }
    for (const id of wanted) if (!subscriptions.has(id)) subscriptions.set(id, socket.subscribe(cfg.progressChannel(id)));
  };

  const offMessage = socket.onMessage((msg) => {
    const job = eventOn("jobs", ["job.updated"], msg);
    if (job) {
      onJob(job.data);
    } else {
      cfg.onMessage(msg, refetch);
    }
  });
  syncSubscriptions(cfg.items(cfg.store.getState()));
  const offStore = cfg.store.subscribe((s, prev) => {
    if (cfg.items(s) !== cfg.items(prev)) syncSubscriptions(cfg.items(s));
  });

  return () => {
    offMessage();
    offStore();
    for (const off of subscriptions.values()) off();
    subscriptions.clear();
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    if (listTimer) clearTimeout(listTimer);
  };
}
