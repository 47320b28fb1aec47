import { create } from "zustand";
import type { ApiError } from "../api/client";
import { isApiError } from "../api/client";
import { endpoints } from "../api/endpoints";
import type { Health } from "../api/types";
import { useToasts } from "./toasts";

export const HEALTH_INTERVAL_MS = 10_000;

interface HealthState {
  health: Health | null;
  error: ApiError | null;
  loading: boolean;
  lastFetched: number | null;
  refresh: () => Promise<void>;
}

export const useHealth = create<HealthState>()((set, get) => ({
  health: null,
  error: null,
  loading: false,
  lastFetched: null,
  refresh: async () => {
    set({ loading: true });
    try {
      const health = await endpoints.health();
      if (get().error) useToasts.getState().push({ kind: "success", title: "Server reachable again" });
      set({ health, error: null, loading: false, lastFetched: Date.now() });
    } catch (e) {
      const err = isApiError(e) ? e : null;
      const hadError = get().error !== null;
      set({ error: err, loading: false, lastFetched: Date.now() });
      // Toast on the transition only; the status bar keeps showing the failure.
      if (!hadError) {
        useToasts.getState().push({
          kind: "error",
          title: "Health check failed",
          message: e instanceof Error ? e.message : String(e),
        });
      }
      if (!err) throw e;
    }
  },
}));

let timer: ReturnType<typeof setInterval> | null = null;

/** Fetch health now and every HEALTH_INTERVAL_MS; returns a stop function. */
export function startHealthPolling(interval = HEALTH_INTERVAL_MS): () => void {
  const tick = () => void useHealth.getState().refresh().catch(() => {});
  tick();
  if (timer) clearInterval(timer);
  timer = setInterval(tick, interval);
  return () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
}
