import type { ModelStatus, VariantStatus } from "../../api/types";
import { cn } from "../../lib/cn";

const STYLES: Record<ModelStatus | VariantStatus, string> = {
  queued: "bg-zinc-800 text-zinc-300 border-zinc-700",
  downloading: "bg-sky-950 text-sky-300 border-sky-800",
  importing: "bg-sky-950 text-sky-300 border-sky-800",
  loading: "bg-sky-950 text-sky-300 border-sky-800",
  ready: "bg-emerald-950 text-emerald-300 border-emerald-800",
  incompatible: "bg-amber-950 text-amber-300 border-amber-800",
  error: "bg-red-950 text-red-300 border-red-800",
  cancelled: "bg-zinc-800 text-zinc-400 border-zinc-700",
  interrupted: "bg-amber-950 text-amber-300 border-amber-800",
};

/** A model's (or a variant's) status as a small coloured badge. */
export function ModelStatusBadge({
  status,
  className,
  "data-testid": testId,
}: {
  status: ModelStatus | VariantStatus;
  className?: string;
  "data-testid"?: string;
}) {
  return (
    <span
      data-status={status}
      data-testid={testId}
      className={cn("inline-flex items-center rounded border px-1.5 py-px text-[11px] font-medium", STYLES[status], className)}
    >
      {status}
    </span>
  );
}
