import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { create } from "zustand";
import { ApiError } from "../api/client";
import { FakeSocket } from "../test/fakeSocket";
import { makeJob } from "../test/fixtures";
import { initialListState, REFETCH_MS, reporting, resourceActions, startLiveResource, whileMarked, type ListState } from "./liveResource";
import { useToasts } from "./toasts";

interface Item {
  id: string;
  active: boolean;
}

type Query = { page?: number; search?: string };

interface State extends ListState<Query> {
  items: Record<string, Item>;
  listIds: string[];
  pending: Record<string, "save" | "delete">;
  setQuery: (q: Partial<Query>) => void;
  fetchList: (signal?: AbortSignal) => Promise<void>;
  fetchItem: (id: string, signal?: AbortSignal) => Promise<Item | null>;
  reset: () => void;
}

const api = { list: vi.fn(), get: vi.fn() };

const initial = { ...initialListState<Query>({ page: 1 }), items: {}, listIds: [], pending: {} };

function makeStore() {
  return create<State>()((set, get) => ({
    ...initial,
    ...resourceActions<State, Item>(set, get, {
      list: (q, signal) => api.list(q, signal),
      get: (id, signal): Promise<Item> => api.get(id, signal),
      applyList: (items) => ({ listIds: items.map((i) => i.id), items: Object.fromEntries(items.map((i) => [i.id, i])) }),
      applyItem: (item) => ({ items: { ...get().items, [item.id]: item } }),
      removeItem: (id) => {
        const items = { ...get().items };
        delete items[id];
        return { items };
      },
      listErrorTitle: "Could not load items",
      initial,
    }),
  }));
}

beforeEach(() => {
  useToasts.getState().clear();
  api.list.mockReset();
  api.get.mockReset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("actions in flight", () => {
  it("marks an id while the action runs, and unmarks it whatever the outcome", async () => {
    const store = makeStore();
    let finish: (v: string) => void = () => undefined;
    const running = whileMarked(store.setState, "pending", "a", "save", () => new Promise<string>((r) => (finish = r)));
    expect(store.getState().pending).toEqual({ a: "save" });
    finish("done");
    expect(await running).toBe("done");
    expect(store.getState().pending).toEqual({});

    const failing = whileMarked(store.setState, "pending", "b", "delete", async () => {
      throw new Error("nope");
    });
    await expect(failing).rejects.toThrow("nope");
    expect(store.getState().pending).toEqual({});
  });

  it("turns an error into a toast with the server's text", async () => {
    expect(await reporting("Could not save", async () => 7)).toBe(7);
    expect(await reporting("Could not save", () => Promise.reject(new ApiError(409, "conflict", "in use by job j1")))).toBeNull();
    expect(useToasts.getState().toasts.at(-1)).toMatchObject({ kind: "error", title: "Could not save", message: expect.stringContaining("in use by job j1") });
  });
});

describe("list and item fetches", () => {
  it("loads the list with the query (page 1 after a filter change); a newer fetch wins", async () => {
    const store = makeStore();
    store.getState().setQuery({ page: 3 });
    store.getState().setQuery({ search: "x" });
    expect(store.getState().query).toEqual({ page: 1, search: "x" });

    let first: (v: unknown) => void = () => undefined;
    api.list.mockReturnValueOnce(new Promise((r) => (first = r)));
    api.list.mockResolvedValueOnce({ items: [{ id: "new", active: false }], pagination: { page: 1, limit: 24, total: 1 } });
    const stale = store.getState().fetchList();
    expect(store.getState().listLoading).toBe(true);
    await store.getState().fetchList();
    first({ items: [{ id: "old", active: false }], pagination: { page: 1, limit: 24, total: 1 } });
    await stale;
    expect(store.getState()).toMatchObject({ listIds: ["new"], listLoading: false, listLoaded: true, listError: null });
  });

  it("ignores a list fetch that lands after a reset", async () => {
    const store = makeStore();
    let land: (v: unknown) => void = () => undefined;
    api.list.mockReturnValueOnce(new Promise((r) => (land = r)));
    const fetching = store.getState().fetchList();
    store.getState().reset();
    land({ items: [{ id: "late", active: false }], pagination: { page: 1, limit: 24, total: 1 } });
    await fetching;
    expect(store.getState()).toMatchObject({ listIds: [], listLoading: false, listLoaded: false });
  });

  it("keeps the error of a failed list load and says so once", async () => {
    const store = makeStore();
    api.list.mockRejectedValue(new Error("offline"));
    await store.getState().fetchList();
    expect(store.getState()).toMatchObject({ listLoading: false, listLoaded: false, listError: "offline" });
    expect(useToasts.getState().toasts.map((t) => t.title)).toEqual(["Could not load items"]);
  });

  it("drops an item a refetch finds gone, and lets other errors through", async () => {
    const store = makeStore();
    api.get.mockResolvedValueOnce({ id: "a", active: true });
    expect(await store.getState().fetchItem("a")).toEqual({ id: "a", active: true });
    api.get.mockRejectedValueOnce(new ApiError(404, "not_found", "gone"));
    expect(await store.getState().fetchItem("a")).toBeNull();
    expect(store.getState().items.a).toBeUndefined();
    api.get.mockRejectedValueOnce(new ApiError(500, "internal", "boom"));
    await expect(store.getState().fetchItem("a")).rejects.toThrow("boom");
  });
});

describe("live wiring", () => {
  function wire(store: ReturnType<typeof makeStore>, socket: FakeSocket, onMessage = vi.fn()) {
    return startLiveResource(socket, {
      store,
      items: (s) => s.items,
      idOfJob: (job) => ((job.params as { item_id?: string } | null)?.item_id ?? null),
      isActive: (item) => item.active,
      progressChannel: (id) => `items/${id}/progress`,
      fetchItem: (id) => store.getState().fetchItem(id),
      fetchList: () => store.getState().fetchList(),
      refreshErrorTitle: "Could not refresh the item",
      onMessage,
    });
  }

  it("follows the progress channel of active items only, and stops following on stop", () => {
    const store = makeStore();
    store.setState({ items: { a: { id: "a", active: true } } });
    const socket = new FakeSocket();
    const stop = wire(store, socket);
    expect(socket.channels).toEqual(["items/a/progress"]);
    store.setState({ items: { a: { id: "a", active: false }, b: { id: "b", active: true } } });
    expect(socket.channels).toEqual(["items/b/progress"]);
    stop();
    expect(socket.channels).toEqual([]);
  });

  it("refetches a known item once per burst of job updates, the list for an unknown one; other messages go to onMessage", async () => {
    vi.useFakeTimers();
    const store = makeStore();
    store.setState({ items: { a: { id: "a", active: true } } });
    api.get.mockResolvedValue({ id: "a", active: false });
    api.list.mockResolvedValue({ items: [], pagination: { page: 1, limit: 24, total: 0 } });
    const socket = new FakeSocket();
    const onMessage = vi.fn((_msg, refetch: (id: string) => void) => refetch("a"));
    const stop = wire(store, socket, onMessage);

    const update = (params: Record<string, unknown>) => socket.emit({ channel: "jobs", event: "job.updated", data: makeJob({ params }) });
    update({ item_id: "a" });
    update({ item_id: "a" });
    update({ other: 1 });
    socket.emit({ channel: "items/a/progress", event: "done", data: {} });
    expect(onMessage).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.get).toHaveBeenCalledTimes(1);
    expect(store.getState().items.a?.active).toBe(false);

    update({ item_id: "elsewhere" });
    update({ item_id: "elsewhere-too" });
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.list).toHaveBeenCalledTimes(1);

    update({ item_id: "a" });
    stop();
    await vi.advanceTimersByTimeAsync(REFETCH_MS + 10);
    expect(api.get).toHaveBeenCalledTimes(1); // a stop cancels the refetches it had scheduled
  });
});
