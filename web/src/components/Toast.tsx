import { AlertTriangle, CheckCircle2, Info, X, XCircle } from "lucide-react";
import { useToasts, type ToastKind } from "../stores/toasts";
import { cn } from "../lib/cn";

const STYLES: Record<ToastKind, { box: string; icon: typeof Info }> = {
  success: { box: "border-emerald-800 bg-emerald-950/90", icon: CheckCircle2 },
  error: { box: "border-red-800 bg-red-950/90", icon: XCircle },
  warning: { box: "border-amber-800 bg-amber-950/90", icon: AlertTriangle },
  info: { box: "border-sky-800 bg-sky-950/90", icon: Info },
};

/** Renders the toast store; errors are announced assertively, the rest politely. */
export function Toaster() {
  const toasts = useToasts((s) => s.toasts);
  const dismiss = useToasts((s) => s.dismiss);
  return (
    <div
      className="pointer-events-none fixed right-3 bottom-9 z-[60] flex w-96 max-w-[calc(100vw-1.5rem)] flex-col gap-2"
      aria-live="polite"
      data-testid="toasts"
    >
      {toasts.map((t) => {
        const { box, icon: Icon } = STYLES[t.kind];
        return (
          <div
            key={t.id}
            role={t.kind === "error" ? "alert" : "status"}
            data-testid="toast"
            data-kind={t.kind}
            className={cn("pointer-events-auto flex items-start gap-2 rounded-md border px-3 py-2 shadow-lg", box)}
          >
            <Icon className="mt-0.5 size-4 shrink-0" aria-hidden />
            <div className="min-w-0 flex-1">
              <div className="text-sm font-medium text-zinc-100">{t.title}</div>
              {t.message && <div className="mt-0.5 text-xs break-words text-zinc-300">{t.message}</div>}
            </div>
            <button
              type="button"
              aria-label="Dismiss notification"
              className="rounded p-0.5 text-zinc-400 hover:text-zinc-100"
              onClick={() => dismiss(t.id)}
            >
              <X className="size-3.5" aria-hidden />
            </button>
          </div>
        );
      })}
    </div>
  );
}
