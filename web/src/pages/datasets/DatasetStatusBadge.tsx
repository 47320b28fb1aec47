import type { DatasetStatus, TokenizationStatus } from "../../api/datasets";
import { cn } from "../../lib/cn";

const STYLES: Record<DatasetStatus | TokenizationStatus, string> = {
  queued: "bg-zinc-800 text-zinc-300 border-zinc-700",
  downloading: "bg-sky-950 text-sky-300 border-sky-800",
  importing: "bg-sky-950 text-sky-300 border-sky-800",
  running: "bg-sky-950 text-sky-300 border-sky-800",
  ready: "bg-emerald-950 text-emerald-300 border-emerald-800",
  error: "bg-red-950 text-red-300 border-red-800",
  cancelled: "bg-zinc-800 text-zinc-400 border-zinc-700",
  interrupted: "bg-amber-950 text-amber-300 border-amber-800",
};

/** A dataset's (or a tokenization's) status as a small coloured badge. */
export function DatasetStatusBadge({
  status,
  className,
  "data-testid": testId,
}: {
  status: DatasetStatus | TokenizationStatus;
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
