import { create } from "zustand";
import { isApiError } from "../api/client";

export type ToastKind = "success" | "error" | "warning" | "info";

export interface Toast {
  id: number;
  kind: ToastKind;
  title: string;
  message?: string;
  /** Milliseconds before auto-dismiss; 0 keeps it until closed. */
  timeout: number;
}

interface ToastsState {
  toasts: Toast[];
  push: (t: Omit<Toast, "id" | "timeout"> & { timeout?: number }) => number;
  dismiss: (id: number) => void;
  clear: () => void;
}

const MAX_TOASTS = 5;
let nextId = 1;
const timers = new Map<number, ReturnType<typeof setTimeout>>();

export const useToasts = create<ToastsState>()((set, get) => ({
  toasts: [],
  push: (t) => {
    // Same toast already on screen: don't stack duplicates (e.g. a repeating poll failure).
    const dup = get().toasts.find((x) => x.kind === t.kind && x.title === t.title && x.message === t.message);
    if (dup) return dup.id;
    const id = nextId++;
    const timeout = t.timeout ?? (t.kind === "error" ? 10_000 : 6_000);
    const toast: Toast = { ...t, id, timeout };
    set((s) => ({ toasts: [...s.toasts, toast].slice(-MAX_TOASTS) }));
    if (timeout > 0) timers.set(id, setTimeout(() => get().dismiss(id), timeout));
    return id;
  },
  dismiss: (id) => {
    const timer = timers.get(id);
    if (timer) clearTimeout(timer);
    timers.delete(id);
    set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) }));
  },
  clear: () => {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    set({ toasts: [] });
  },
}));

/** Put any error in front of the user; ApiErrors show the server's message. */
export function reportError(error: unknown, title = "Request failed"): void {
  if (error instanceof DOMException && error.name === "AbortError") return;
  let message: string;
  if (isApiError(error)) {
    message = error.status ? `${error.message} (${error.code}, HTTP ${error.status})` : error.message;
  } else if (error instanceof Error) {
    message = error.message;
  } else {
    message = String(error);
  }
  useToasts.getState().push({ kind: "error", title, message });
}
